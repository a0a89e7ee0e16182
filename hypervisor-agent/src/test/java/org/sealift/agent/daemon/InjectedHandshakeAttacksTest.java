package org.sealift.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.cli.ClientCommands;
import org.sealift.agent.lab.Lab;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The lab's {@code --inject} attacks on the handshake, played by a source's dom0 between real agent and hypervisor
 * processes on loopback (threat → test matrix rows 23, 25 and the wrong host of row 24): an attestation-key chain
 * dom0 made itself put into HELLO ({@code unendorsed-key}), an older policy replayed to the source's hypervisor and
 * its serial claimed in HELLO ({@code old-policy}), and the migration connected to another host than the one asked
 * for ({@code impersonate}). Each must be caught by a hypervisor with the right reason in a signed record, end
 * REJECTED (exit code 5), and leave the VM running at the source alone.
 */
class InjectedHandshakeAttacksTest {

    @TempDir
    static Path tmp;
    static Lab lab;
    static LabApi api;

    @BeforeAll
    static void startLab() throws Exception {
        lab = Lab.start(tmp.resolve("lab"), Lab.Options.defaults().withoutDemoVms(), System.err);
        api = new LabApi(lab);
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.close();
        }
    }

    /** Migrates a fresh VM with a protected process from h1 to {@code to} with {@code inject}; checks the common end. */
    static JsonNode attack(String vm, String inject, String to) throws Exception {
        api.createVm("h1", vm, 256);
        String id = api.post("h1", "/v1/migrations", Map.of("vm", vm, "to", to, "inject", inject)).path("id")
                .asText();
        JsonNode v = api.awaitEnd("h1", id);
        assertEquals("REJECTED", v.path("outcome").asText(), v.toString());
        assertEquals("REJECTED", v.path("attestation").path("outcome").asText(), "the source's signed record: " + v);
        assertEquals(5, ClientCommands.exitCode(v), "exit code 5, REJECTED: " + v);
        assertEquals(1, api.runningCopies(vm), api.inventory().toString());
        assertTrue(api.inventory().contains("h1/" + vm + "/RUNNING"), api.inventory().toString());
        return v;
    }

    /** The record of migration {@code id} in {@code host}'s attestation log, once that host has logged it. */
    static JsonNode loggedRecord(String host, String id) throws Exception {
        for (int attempt = 0; attempt < 600; attempt++) {
            for (JsonNode e : api.get(host, "/v1/attestations?from=0&limit=500").path("entries")) {
                if (e.path("record").path("migrationId").asText().equals(id)) {
                    return e;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("host " + host + " never logged a record of migration " + id + ": "
                + api.get(host, "/v1/attestations?from=0&limit=500"));
    }

    /** The destination's own hypervisor refused HELLO: it logged its own record, signed by itself alone. */
    static JsonNode refusedAtTheDestination(String host, String id, String reason) throws Exception {
        JsonNode e = loggedRecord(host, id);
        JsonNode r = e.path("record");
        assertEquals("REJECTED", r.path("outcome").asText(), e.toString());
        assertEquals(reason, r.path("reason").asText(), e.toString());
        assertTrue(r.path("detail").asText().contains("HELLO refused by host " + host), e.toString());
        assertTrue(e.path("signedByDestination").asBoolean() && !e.path("signedBySource").asBoolean(), e.toString());
        assertEquals(host, r.path("destination").path("hostId").asText(), e.toString());
        assertTrue(r.path("source").path("akFingerprint").isNull(), "the source was never authenticated: " + e);
        return e;
    }

    @Test
    void anAttestationKeyDom0MadeItselfIsRefusedByTheDestinationAsCertificate() throws Exception {
        JsonNode v = attack("unendorsed", "unendorsed-key", "h2");
        String id = v.path("id").asText();
        assertTrue(v.path("anomalies").toString().contains("unendorsed-key: dom0 replaced the AK chain in HELLO"),
                "the attack ran: " + v);
        refusedAtTheDestination("h2", id, "CERTIFICATE");
        assertFalse(api.inventory().contains("h2/unendorsed/RUNNING"), api.inventory().toString());
    }

    @Test
    void anOlderPolicyIsRefusedByTheSourcesHypervisorAndItsSerialAsAReplayByTheDestination() throws Exception {
        String policy = api.get("h1", "/v1/host").path("policy").asText();
        JsonNode v = attack("withheld", "old-policy", "h2");
        String id = v.path("id").asText();
        String notes = v.path("anomalies").toString();
        assertTrue(notes.contains("old-policy: dom0 replayed an older policy to its hypervisor: refused"), notes);
        assertTrue(notes.contains("old-policy: dom0 rewrote HELLO to claim policy serial"), notes);
        assertEquals(policy, api.get("h1", "/v1/host").path("policy").asText(), "h1 keeps its current policy");
        // h2 holds the current policy and sees a source that claims an older one: the update was withheld from it
        refusedAtTheDestination("h2", id, "REPLAY");
    }

    @Test
    void aHostAnsweringForTheRequestedOneIsRefusedByTheSourcesHypervisor() throws Exception {
        JsonNode v = attack("elsewhere", "impersonate", "h2");
        // the agents' peers are h2, h3, h4: dom0 connects the migration to h3, which answers with its own AK
        assertEquals("POLICY", v.path("attestation").path("reason").asText(), v.toString());
        assertTrue(v.path("reason").asText().contains("host h3 answered, but the migration was requested to host h2"),
                v.toString());
        JsonNode atSource = loggedRecord("h1", v.path("id").asText()).path("record");
        assertEquals("POLICY", atSource.path("reason").asText(), atSource.toString());
        List<String> inventory = api.inventory();
        assertFalse(inventory.contains("h3/elsewhere/RUNNING") || inventory.contains("h2/elsewhere/RUNNING"),
                inventory.toString());
    }
}
