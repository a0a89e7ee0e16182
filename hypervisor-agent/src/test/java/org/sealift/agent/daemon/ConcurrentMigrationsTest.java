package org.sealift.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.lab.Lab;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Twenty migrations of 256 MiB VMs at once among the three hosts of a lab (real agent and hypervisor processes on
 * loopback, guest memory in tmpfs): every host sends and receives several at the same time over its agent channel,
 * secure and plain mixed, VMs with a protected process always secure. All commit, and afterwards every VM is exactly
 * once in the cluster, running on its destination, with a doubly signed record in both hosts' logs for every secure
 * migration, and the logs still verify.
 */
class ConcurrentMigrationsTest {

    private static final int VMS = 20;
    private static final List<String> HOSTS = Lab.HOSTS;

    @TempDir
    static Path tmp;
    static Lab lab;
    static LabApi api;

    @BeforeAll
    static void startLab() throws Exception {
        lab = Lab.start(tmp.resolve("lab"), Lab.Options.defaults().withoutRogue().withoutDemoVms(), System.err);
        api = new LabApi(lab);
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.close();
        }
    }

    /** One VM's plan: where it starts, where it goes, whether it has a protected process and which mode it asks. */
    record Plan(String vm, String from, String to, boolean protectedProcess, String mode) {
    }

    static List<Plan> plans() {
        List<Plan> out = new ArrayList<>();
        for (int i = 0; i < VMS; i++) {
            String from = HOSTS.get(i % 3);
            // alternate the direction, so that every host both sends to and receives from both others
            String to = HOSTS.get((i % 3 + 1 + (i / 3) % 2) % 3);
            boolean prot = i % 2 == 0;
            // protected VMs go secure; unprotected ones alternate (secure works for them too, plain is the baseline)
            String mode = prot || i % 4 == 1 ? "secure" : "plain";
            out.add(new Plan(String.format("par-%02d", i), from, to, prot, mode));
        }
        return out;
    }

    private static void create(Plan p) throws Exception {
        Map<String, Object> workload = new LinkedHashMap<>();
        // 256 MiB of guest memory each, a tenth of it non-zero, and a working set that keeps changing
        workload.put("fillPercent", 10);
        workload.put("workingSetPages", 512);
        workload.put("dirtyPagesPerSecond", 200);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", p.vm());
        body.put("memoryMiB", 256);
        if (p.protectedProcess()) {
            body.put("protectedProcesses", List.of(Map.of("name", "vault", "firstPfn", 4096, "pages", 256)));
            workload.put("protectedWorkingSetPages", 32);
            workload.put("protectedDirtyPagesPerSecond", 100);
        }
        body.put("workload", workload);
        api.post(p.from(), "/v1/vms", body);
    }

    @Test
    void twentyMigrationsOf256MiBVmsAmongThreeHostsAllCommitAndLeaveEveryVmOnceOnItsDestination()
            throws Exception {
        List<Plan> plans = plans();
        for (Plan p : plans) {
            create(p);
        }
        Map<String, String> ids = new LinkedHashMap<>();
        for (Plan p : plans) {
            JsonNode started = api.post(p.from(), "/v1/migrations", Map.of("vm", p.vm(), "to", p.to(), "mode",
                    p.mode()));
            assertEquals("running", started.path("state").asText(), started.toString());
            ids.put(p.vm(), started.path("id").asText());
        }
        List<String> failures = new ArrayList<>();
        for (Plan p : plans) {
            String id = ids.get(p.vm());
            JsonNode atSource = api.awaitEnd(p.from(), id);
            if (!"COMMITTED".equals(atSource.path("outcome").asText())) {
                failures.add(p + ": " + atSource);
                continue;
            }
            JsonNode atDestination = api.awaitEnd(p.to(), id);
            if (!"COMMITTED".equals(atDestination.path("outcome").asText())) {
                failures.add(p + " at the destination: " + atDestination);
            }
            if (p.mode().equals("secure")) {
                JsonNode ref = atSource.path("attestation");
                if (!ref.path("signedByBoth").asBoolean() || !"COMMITTED".equals(ref.path("outcome").asText())) {
                    failures.add(p + ": no doubly signed COMMITTED record at the source: " + atSource);
                }
            } else if (!atSource.path("attestationNote").asText().contains("plain migration")) {
                failures.add(p + ": a plain migration should say why it has no record: " + atSource);
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));

        // every VM exactly once in the cluster, on its destination, running
        List<String> inventory = api.inventory();
        for (Plan p : plans) {
            List<String> copies = inventory.stream().filter(s -> s.split("/")[1].equals(p.vm())).toList();
            assertEquals(List.of(p.to() + "/" + p.vm() + "/RUNNING"), copies, p + " in " + inventory);
        }
        // each secure migration's record is in both hosts' logs, signed by both hypervisors
        for (Plan p : plans) {
            if (!p.mode().equals("secure")) {
                continue;
            }
            for (String host : List.of(p.from(), p.to())) {
                JsonNode entry = entryFor(host, ids.get(p.vm()));
                assertTrue(entry != null, "host " + host + " logged no record of " + p);
                assertTrue(entry.path("signedBySource").asBoolean() && entry.path("signedByDestination").asBoolean(),
                        entry.toString());
                assertEquals("COMMITTED", entry.path("record").path("outcome").asText(), entry.toString());
            }
        }
        for (String host : HOSTS) {
            JsonNode check = api.post(host, "/v1/attestations/verify", Map.of()).path("agentCheck");
            assertTrue(check.path("ok").asBoolean(), host + ": " + check);
            JsonNode info = api.get(host, "/v1/host");
            assertEquals("ok", info.path("health").path("status").asText(), info.toString());
            assertEquals(0, api.get(host, "/v1/in-doubt").size(), "nothing in doubt at " + host);
        }
        assertFalse(ids.values().stream().distinct().count() < VMS, "every migration has its own id");
    }

    /** The log entry of host {@code host} for migration {@code id}, or null. */
    static JsonNode entryFor(String host, String id) throws Exception {
        long from = 0;
        while (true) {
            JsonNode page = api.get(host, "/v1/attestations?from=" + from + "&limit=500");
            for (JsonNode e : page.path("entries")) {
                if (id.equals(e.path("record").path("migrationId").asText())) {
                    return e;
                }
            }
            from += page.path("entries").size();
            if (page.path("entries").size() == 0 || from >= page.path("size").asLong()) {
                return null;
            }
        }
    }
}
