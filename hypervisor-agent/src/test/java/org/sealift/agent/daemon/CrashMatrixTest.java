package org.sealift.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.cli.CaCommand;
import org.sealift.agent.lab.Lab;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Threat → test matrix, "crash of the agent, and of the whole host, at every commit step", over real processes: a
 * lab (hypervisor and agent processes per host, on loopback) whose agents hold each migration at one step through a
 * lab fault injection ({@code hold-*}: dom0 holds back one record and what follows it; DONE is held by the
 * destination's dom0, the rest by the source's); the event stream says when it holds. For each kind of crash, six migrations between the same two hosts are held at the six steps
 * (before the handshake, mid pre-copy, after MANIFEST, after READY, after RELEASE, after the destination resumed),
 * and then the agent alone (SIGKILL; its hypervisor keeps running) or the whole host (SIGKILL to agent and
 * hypervisor) of one side dies, in the middle of all six. What was killed starts again (an agent re-attaches to its
 * hypervisor; a host boots its hypervisor from its sealed state), and the test watches the cluster through every
 * hypervisor's own dom0 interface until everything is settled:
 * <ul>
 * <li>never two running copies of a VM, at any observation;</li>
 * <li>where a host holding a complete verified copy survived, the VM runs in the end (automatically, by the
 * agent's re-served RELEASE or carried ABORT, or by an operator's fence from {@code sealift ca fence}), with
 * protected memory bit-identical to the state sealed before the migration (its protected process does not write
 * during these migrations, so the sealed state is also the state it was created with);</li>
 * <li>every hypervisor that settled a migration has its record in its host's attestation log, also when it settled
 * it alone while its agent was down;</li>
 * <li>whatever was in doubt (source RELEASED, destination READY) was listed by {@code GET /v1/in-doubt} at a live
 * agent, and afterwards is no longer listed and has its resolution in the migration's view.</li>
 * </ul>
 * A host crash loses the VMs in its RAM, as a real host crash does: a crashed source before READY, or a crashed
 * destination after it resumed the VM, leaves no copy to run, and the test checks that none runs.
 */
class CrashMatrixTest {

    /** Where a migration is held when the crash comes, and the injection that holds it there. */
    enum Step {
        BEFORE_HANDSHAKE("hold-hello"), MID_PRECOPY("hold-precopy"), AFTER_MANIFEST("hold-manifest"),
        AFTER_READY("hold-ready"), AFTER_RELEASE("hold-release"), AFTER_RESUME("hold-done");

        final String hold;

        Step(String hold) {
            this.hold = hold;
        }
    }

    /**
     * The order in which a batch reaches its holds: the step whose wait matters most for the crash comes last
     * (after READY the destination's READY deadline runs, before the handshake the source's handshake deadline).
     */
    static final List<Step> START_ORDER = List.of(Step.AFTER_RESUME, Step.AFTER_READY, Step.AFTER_MANIFEST,
            Step.MID_PRECOPY, Step.AFTER_RELEASE, Step.BEFORE_HANDSHAKE);

    enum Crash {
        SOURCE_AGENT(true, false, "h1", "h2"), DESTINATION_AGENT(false, false, "h2", "h3"),
        DESTINATION_HOST(false, true, "h3", "h1"), SOURCE_HOST(true, true, "h1", "h2");

        final boolean source;
        final boolean wholeHost;
        final String src;
        final String dst;

        Crash(boolean source, boolean wholeHost, String src, String dst) {
            this.source = source;
            this.wholeHost = wholeHost;
            this.src = src;
            this.dst = dst;
        }
    }

    @TempDir
    static Path tmp;
    static Lab lab;
    static LabApi api;

    @BeforeAll
    static void startLab() throws Exception {
        // deadlines long enough that six migrations reach their holds before any of them passes, and that a
        // restarted source re-serves RELEASE within the destination's READY deadline; short retry intervals
        lab = Lab.start(tmp.resolve("lab"), Lab.Options.defaults().withoutRogue().withoutDemoVms().withDiagnostics()
                .with("migration.ready-deadline-ms", "40000").with("migration.paused-deadline-ms", "30000")
                .with("migration.attest-wait-ms", "10000").with("migration.resolve-interval-ms", "1000"),
                System.err);
        api = new LabApi(lab);
    }

    @AfterAll
    static void stopLab() throws java.io.IOException {
        if (lab != null) {
            lab.close();
            // -Dsealift.crash-logs=DIR keeps the agents' and hypervisors' logs for a look after the run
            String keep = System.getProperty("sealift.crash-logs");
            if (keep != null) {
                for (String h : Lab.HOSTS) {
                    Path to = Path.of(keep, h);
                    Files.createDirectories(to);
                    Path host = lab.dir().resolve("hosts").resolve(h);
                    Files.copy(host.resolve("agent.log"), to.resolve("agent.log"),
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Files.copy(host.resolve("hypervisor").resolve("hypervisor.log"), to.resolve("hypervisor.log"),
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** Where the VM must run in the end: a host name, "either" of the two, or null if no complete copy survives. */
    static String expectedHome(Step step, Crash crash) {
        if (!crash.wholeHost) {
            return switch (step) {
                case AFTER_RELEASE -> "either"; // RELEASE re-served in time, or the destination's deadline first
                case AFTER_RESUME -> crash.dst;
                default -> crash.src; // never released
            };
        }
        if (crash.source) {
            return step.ordinal() >= Step.AFTER_READY.ordinal() ? crash.dst : null;
        }
        return step == Step.AFTER_RESUME ? null : crash.src;
    }

    /** One held migration of the batch. */
    record Held(Step step, String vm, String id, byte[] sealed, Observer watch) {
    }

    /**
     * The crash of the source host comes last: its fence revokes that host's attestation key in a new policy, after
     * which the lab's hosts no longer agree on the policy.
     */
    @ParameterizedTest(name = "{0} at every step")
    @EnumSource(Crash.class)
    void aCrashAtEveryCommitStepLeavesOneCopyAtMostAndRunsTheSurvivingOne(Crash crash) throws Exception {
        String src = crash.src;
        String dst = crash.dst;
        String victim = crash.source ? src : dst;
        String survivor = crash.source ? dst : src;
        Map<Step, Held> batch = new LinkedHashMap<>();
        // the destination's dom0 holds DONE (hold-done is played there), the source's the other records
        try (AgentClient.EventStream events = api.client(src).events("anomaly,outcome");
                AgentClient.EventStream atDestination = api.client(dst).events("anomaly,outcome")) {
            for (Step step : START_ORDER) {
                String vm = ("c-" + crash.name().replace("_", "") + "-" + step.name().replace("_", ""))
                        .toLowerCase(Locale.ROOT);
                api.post(src, "/v1/vms", quietVm(vm, step == Step.MID_PRECOPY ? 64 : 16));
                byte[] sealed = digestOf(src, vm);
                // mid pre-copy: a 1 MiB/s cap and a VM larger than the buffers keep the source's engine in its
                // first round (otherwise it would run ahead of the held stream into the buffers, to the MANIFEST)
                String id = api.post(src, "/v1/migrations", step == Step.MID_PRECOPY ? Map.of("vm", vm, "to", dst,
                        "inject", step.hold, "bandwidthMiBps", 1) : Map.of("vm", vm, "to", dst, "inject", step.hold))
                        .path("id").asText();
                AgentClient.Event e = (step == Step.AFTER_RESUME ? atDestination : events).next(ev -> id.equals(
                        ev.data().path("migrationId").asText())
                        && ev.data().path("detail").asText().startsWith(step.hold + ":")
                        || id.equals(ev.data().path("id").asText()) && ev.type().equals("outcome")).orElseThrow();
                assertEquals("anomaly", e.type(), vm + " ended before it was held at " + step + ": " + e.data());
                batch.put(step, new Held(step, vm, id, sealed, new Observer(vm, id, src, dst)));
            }
        }
        lookAll(batch);
        if (crash.wholeHost) {
            lab.killHost(victim);
        } else {
            lab.stopAgent(victim, true);
        }
        for (Held h : batch.values()) {
            h.watch().down.add(victim);
        }
        lookAll(batch);
        // what the survivor's hypervisor holds in doubt, its agent lists
        for (Held h : batch.values()) {
            h.watch().checkInDoubtListed(survivor);
        }
        if (crash == Crash.SOURCE_HOST) {
            // the destination holds a verified copy after READY, the source never released it and is gone
            fence(survivor, victim, batch.get(Step.AFTER_READY).id());
            lookAll(batch);
        }
        List<Held> settledAlone = new ArrayList<>();
        if (crash == Crash.DESTINATION_AGENT) {
            // the destination's agent stays away until its hypervisor settled the READY copies alone (deadline)
            settledAlone.add(batch.get(Step.AFTER_READY));
            settledAlone.add(batch.get(Step.AFTER_RELEASE));
            for (Held h : settledAlone) {
                awaitFinalAlone(h, batch);
            }
        }
        if (crash.wholeHost) {
            lab.restartHost(victim);
        } else {
            lab.startAgentAgain(victim);
        }
        for (Held h : batch.values()) {
            h.watch().down.remove(victim);
        }
        // until every migration of the batch is settled, observing all of them at every step
        Map<Step, String> homes = new LinkedHashMap<>();
        Map<Step, List<String>> open = new LinkedHashMap<>();
        long guard = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (true) {
            open.clear();
            for (Held h : batch.values()) {
                String[] home = new String[1];
                List<String> o = h.watch().open(expectedHome(h.step(), crash), home);
                homes.put(h.step(), home[0]);
                if (!o.isEmpty()) {
                    open.put(h.step(), o);
                }
            }
            if (open.isEmpty() || System.nanoTime() > guard) {
                break;
            }
            Thread.sleep(250);
        }
        assertTrue(open.isEmpty(), crash + ": not settled: " + open);
        List<String> failures = new ArrayList<>();
        for (Held h : batch.values()) {
            String home = homes.get(h.step());
            if (home != null && !java.util.Arrays.equals(h.sealed(), digestOf(home, h.vm()))) {
                failures.add(h.step() + ": the running copy at " + home + " is not the sealed state");
            }
            try {
                h.watch().checkResolutions();
            } catch (AssertionError e) {
                failures.add(h.step() + ": " + e.getMessage());
            }
        }
        assertTrue(failures.isEmpty(), crash + ":\n" + String.join("\n", failures));
        if (crash == Crash.DESTINATION_HOST) {
            // released, then the destination host died: the VM sat paused at the source from its MANIFEST until the
            // restarted destination's ABORT token resumed it there, seconds; the source's history says so
            Held released = batch.get(Step.AFTER_RELEASE);
            JsonNode v = api.get(src, "/v1/migrations/" + released.id());
            assertEquals("ABORTED_BY_DESTINATION", v.path("outcome").asText(), v.toString());
            assertTrue(v.path("totals").path("downtimeMs").asDouble() >= 1000, "downtime of a VM paused across a"
                    + " host restart: " + v);
        }
        if (crash == Crash.SOURCE_HOST) {
            Held hello = batch.get(Step.BEFORE_HANDSHAKE);
            // nothing had left the host before its handshake completed: its hypervisor ends it itself at boot
            MigrationDecision ended = hello.watch().decision(src).orElseThrow();
            assertEquals(MigrationState.ABORTED_BY_SOURCE, ended.state(), ended.toString());
            assertFalse(ended.inDoubt(), ended.toString());
        }
        for (Held h : settledAlone) {
            // the records of what the hypervisor settled while no agent followed it
            JsonNode entry = AgentLogs.entryFor(dst, h.id());
            assertTrue(entry.path("signedByDestination").asBoolean(), entry.toString());
            assertEquals("ABORTED_BY_DESTINATION", entry.path("record").path("outcome").asText(), entry.toString());
            JsonNode v = api.get(dst, "/v1/migrations/" + h.id());
            assertEquals(entry.path("index").asLong(), v.path("attestation").path("index").asLong(), v.toString());
        }
        for (String host : List.of(src, dst)) {
            if (crash != Crash.SOURCE_HOST) {
                JsonNode check = api.post(host, "/v1/attestations/verify", Map.of()).path("agentCheck");
                assertTrue(check.path("ok").asBoolean(), host + ": " + check);
            }
            for (Held h : batch.values()) {
                api.raw(host, "DELETE", "/v1/vms/" + h.vm(), null, new byte[0]);
            }
        }
    }

    private static void lookAll(Map<Step, Held> batch) {
        for (Held h : batch.values()) {
            h.watch().look();
        }
    }

    /** Waits, observing, until the destination's hypervisor has settled the held migration without its agent. */
    private static void awaitFinalAlone(Held h, Map<Step, Held> batch) throws Exception {
        // nobody logged it at the destination yet: the log file the dead agent left has no record of it
        String dst = h.watch().hosts.get(1);
        while (true) {
            lookAll(batch);
            Optional<MigrationDecision> d = h.watch().decision(dst);
            if (d.isPresent() && d.get().state().isFinal()) {
                break;
            }
            Thread.sleep(250);
        }
        Path logFile = lab.dir().resolve("hosts").resolve(dst).resolve("agent").resolve(AttestationStore.LOG_FILE);
        if (Files.exists(logFile)) {
            for (org.sealift.protocol.attest.LogEntry le : org.sealift.protocol.attest.AttestationLog.parse(
                    Files.readAllBytes(logFile)).entries()) {
                assertFalse(java.util.HexFormat.of().formatHex(le.record().record().migrationId()).equals(h.id()),
                        dst + " logged migration " + h.id() + " before its agent returned");
            }
        }
    }

    /** A protected process whose 64 pages are never written, normal pages that keep changing. */
    static Map<String, Object> quietVm(String name, int mib) {
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("fillPercent", mib > 16 ? 60 : 30);
        w.put("workingSetPages", 128);
        w.put("dirtyPagesPerSecond", 300);
        return Map.of("name", name, "memoryMiB", mib, "protectedProcesses", List.of(Map.of("name", "vault",
                "firstPfn", 1024, "pages", 64)), "workload", w);
    }

    /** The hypervisor's diagnostics digest of the VM's protected memory (the test plays dom0 of that host). */
    static byte[] digestOf(String host, String vm) throws HypervisorException {
        try (SimBackend b = SimBackend.attach(lab.hypervisorSocket(host))) {
            return b.protectedMemoryDigest(b.domainByName(vm).domId());
        }
    }

    /** The operator declares {@code lost} gone for good: 'sealift ca fence', the fence imported at the survivor. */
    static void fence(String survivor, String lost, String id) throws Exception {
        JsonNode entry = null;
        for (JsonNode e : api.get(survivor, "/v1/in-doubt")) {
            if (e.path("id").asText().equals(id)) {
                entry = e;
            }
        }
        assertNotNull(entry, "the surviving destination lists the migration in doubt");
        assertEquals("READY", entry.path("state").asText(), entry.toString());
        String digest = entry.path("manifestDigest").asText();
        assertEquals(64, digest.length(), "in-doubt names the manifest digest a fence needs: " + entry);
        // the lost host's AK as the survivor's hypervisor authenticated it (the hypervisor checks the fence names it)
        String lostAk = entry.path("peerAkFingerprint").asText();
        assertEquals(64, lostAk.length(), "in-doubt names the peer's AK a fence declares lost: " + entry);
        assertEquals(lost, entry.path("peer").asText(), entry.toString());
        Path file = tmp.resolve("fence-" + id + ".pem");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = new CaCommand(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true,
                StandardCharsets.UTF_8), InputStream.nullInputStream(), Map.of(), Clock.systemUTC()).run(List.of(
                        "fence", "--migration", id, "--manifest-digest", digest, "--lost-ak", lostAk, "--ca",
                        lab.dir().resolve("ca").toString(), "--out", file.toString(), "--yes-i-understand"));
        assertEquals(0, rc, out.toString(StandardCharsets.UTF_8));
        JsonNode d = api.post(survivor, "/v1/in-doubt/" + id + "/fence", Map.of("fence", Files.readString(file)));
        assertEquals("FENCED", d.path("state").asText(), d.toString());
    }

    /** Watches the two hosts through their hypervisors (as dom0) and their agents' API while the case settles. */
    static final class Observer {
        final String vm;
        final String id;
        final List<String> hosts;
        final Set<String> down = new LinkedHashSet<>();
        /** Hosts whose agent listed the migration in doubt. */
        final Set<String> listedInDoubt = new LinkedHashSet<>();
        final List<String> seen = new ArrayList<>();

        Observer(String vm, String id, String src, String dst) {
            this.vm = vm;
            this.id = id;
            this.hosts = List.of(src, dst);
        }

        /** One observation of every live hypervisor: at most one running copy. */
        List<String> look() {
            List<String> running = new ArrayList<>();
            for (String h : Lab.HOSTS) {
                if (down.contains(h)) {
                    continue;
                }
                try (SimBackend b = SimBackend.attach(lab.hypervisorSocket(h))) {
                    for (DomainInfo d : b.listDomains()) {
                        if (d.name().equals(vm) && d.state() == DomainState.RUNNING) {
                            running.add(h);
                        }
                    }
                } catch (HypervisorException e) {
                    fail("the hypervisor of " + h + " does not answer: " + e.getMessage());
                }
            }
            String o = running.toString();
            if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(o)) {
                seen.add(o);
            }
            assertTrue(running.size() <= 1, vm + " runs twice: " + running + " (observations " + seen + ")");
            return running;
        }

        Optional<MigrationDecision> decision(String host) throws HypervisorException {
            try (SimBackend b = SimBackend.attach(lab.hypervisorSocket(host))) {
                MigrationId mid = MigrationId.parse(id);
                return b.decisions().stream().filter(d -> d.id().equals(mid)).findFirst();
            }
        }

        /** If the host's hypervisor holds the migration RELEASED or READY, its agent lists it in doubt. */
        void checkInDoubtListed(String host) throws Exception {
            Optional<MigrationDecision> d = decision(host);
            boolean doubtful = d.isPresent() && !d.get().state().isFinal() && (d.get().state().name().equals(
                    "RELEASED") || d.get().state().name().equals("READY"));
            if (!doubtful) {
                return;
            }
            JsonNode list = api.get(host, "/v1/in-doubt");
            boolean listed = false;
            for (JsonNode e : list) {
                listed |= e.path("id").asText().equals(id);
            }
            if (!listed && !decision(host).map(x -> x.state().isFinal()).orElse(false)) {
                fail("host " + host + " holds migration " + id + " as " + d.get().state() + " but GET /v1/in-doubt"
                        + " does not list it: " + list);
            }
            if (listed) {
                listedInDoubt.add(host);
            }
        }

        /**
         * What keeps this migration from being settled (empty once both hypervisors have settled it, nothing is in
         * doubt, the VM runs where a copy survived or nowhere, and each settled side has its record); observes.
         * {@code home[0]} gets the host where it runs.
         */
        List<String> open(String expectedHome, String[] home) throws Exception {
            List<String> running = look();
            List<String> open = new ArrayList<>();
            for (String h : hosts) {
                Optional<MigrationDecision> d = decision(h);
                if (d.isPresent() && !d.get().state().isFinal()) {
                    open.add(h + " " + d.get().state() + " (" + d.get().detail() + ")");
                } else if (d.isPresent() && d.get().state() != MigrationState.FENCED
                        && AgentLogs.entryFor(h, id) == null) {
                    // a fenced migration's record is the operator's fence bundle: the hypervisor signs none
                    open.add(h + " " + d.get().state() + " without a record in its log");
                }
                for (JsonNode e : api.get(h, "/v1/in-doubt")) {
                    if (e.path("id").asText().equals(id)) {
                        listedInDoubt.add(h);
                        open.add(h + " lists it in doubt");
                    }
                }
            }
            boolean placed = expectedHome == null ? running.isEmpty()
                    : running.size() == 1 && (expectedHome.equals("either") || running.contains(expectedHome));
            if (!placed) {
                open.add("runs at " + running + ", expected " + expectedHome);
            }
            home[0] = running.isEmpty() ? null : running.get(0);
            return open;
        }

        /** Where the agent listed the migration in doubt, its view now says how it ended. */
        void checkResolutions() throws Exception {
            for (String h : listedInDoubt) {
                JsonNode v = api.get(h, "/v1/migrations/" + id);
                assertFalse(v.path("inDoubt").asBoolean(), v.toString());
                assertFalse(v.path("outcome").isMissingNode() || v.path("outcome").isNull(), v.toString());
                assertFalse(v.path("reason").asText().isEmpty(), v.toString());
            }
        }
    }

    /** Reading the attestation logs through the API. */
    static final class AgentLogs {
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
}
