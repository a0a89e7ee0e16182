package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.eclipse.core.runtime.NullProgressMonitor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.lab.LabException;
import org.sealift.console.core.lab.LabStatus;
import org.sealift.console.core.lab.internal.LabServiceImpl;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The lab service crashes and restarts lab hosts of a real lab (started by the service from the agent jar, as the
 * console does) through the lab's control API, and a destination crashed after RELEASE settles as the lab's
 * scenario says: no copy runs while the destination is down, and after it boots again its ABORT token lets the
 * source resume the VM, once, with a signed record at both hosts.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LabCrashTest {

    /** Starting JVMs and migrating on a busy 2-core machine: a hang limit, not a speed assertion. */
    private static final long LIMIT_MILLIS = 300_000;

    private static LabServiceImpl lab;
    private static AgentDirectory directory;

    @BeforeAll
    static void startLab() throws Exception {
        String jar = System.getProperty("sealift.agent.jar");
        Path tmp = Files.createTempDirectory("sealift-lab-crash");
        lab = new LabServiceImpl(tmp.resolve("lab"), jar == null || jar.isBlank() ? null : Path.of(jar));
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home")));
        lab.bindSettings(settings);
        LabStatus s = lab.attachOrStart(new NullProgressMonitor());
        assertTrue(s.running() && s.startedByConsole(), s::describe);
        directory = new AgentDirectory(settings, Clock.systemUTC());
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.deactivate();
        }
    }

    private static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long end = System.currentTimeMillis() + LIMIT_MILLIS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("gave up waiting for: " + what.get());
            }
            Thread.sleep(100);
        }
    }

    private static LabStatus.Agent agent(String host) {
        return lab.refresh().agent(host).orElseThrow();
    }

    private static JsonNode vmOn(String host, String vm) throws AgentException {
        for (JsonNode v : directory.api(host).get("/v1/vms")) {
            if (v.path("name").asText().equals(vm)) {
                return v;
            }
        }
        return null;
    }

    private static boolean runs(String host, String vm) throws AgentException {
        JsonNode v = vmOn(host, vm);
        return v != null && v.path("state").asText().equals("RUNNING");
    }

    /** The attestation log entry of migration {@code id} at {@code host}, or null. */
    private static JsonNode record(String host, String id) throws AgentException {
        JsonNode page = directory.api(host).get("/v1/attestations?from=0&limit=500");
        for (JsonNode e : page.path("entries")) {
            if (id.equals(e.path("record").path("migrationId").asText())) {
                return e;
            }
        }
        return null;
    }

    @Test
    @Order(1)
    void badCrashAndRestartRequestsAreRefusedWithTheFix() {
        LabException unknown = assertThrows(LabException.class, () -> lab.crash("h9", true,
                new NullProgressMonitor()));
        assertTrue(unknown.getMessage().startsWith("the lab control API refused POST /v1/lab/hosts/h9/crash: this"
                + " lab has no host 'h9'; its hosts are h1, h2, h3, h4"), unknown.getMessage());
        LabException rogue = assertThrows(LabException.class, () -> lab.crash("h4", true, new NullProgressMonitor()));
        assertTrue(rogue.getMessage().contains("host h4 is the lab's rogue host"), rogue.getMessage());
        LabException running = assertThrows(LabException.class, () -> lab.restart("h2", new NullProgressMonitor()));
        assertTrue(running.getMessage().contains("host h2 is running") && running.getMessage().contains(
                "crash it first"), running.getMessage());
        assertTrue(agent("h2").alive() && agent("h4").alive(), "refused requests change nothing");
    }

    @Test
    @Order(2)
    void anAgentCrashedAloneComesBackToItsRunningHypervisor() throws Exception {
        LabStatus.Agent before = agent("h2");
        String crashed = lab.crash("h2", false, new NullProgressMonitor());
        assertTrue(crashed.startsWith("the agent of host h2 (pid " + before.pid() + ") was killed"), crashed);
        LabStatus.Agent down = agent("h2");
        assertFalse(down.alive());
        assertTrue(down.hypervisorAlive());
        assertEquals("agent down (its hypervisor runs)", down.describe());
        LabException again = assertThrows(LabException.class, () -> lab.crash("h2", false,
                new NullProgressMonitor()));
        assertTrue(again.getMessage().contains("already down") && again.getMessage().contains("restart"),
                again.getMessage());
        String back = lab.restart("h2", new NullProgressMonitor());
        assertTrue(back.startsWith("the agent of host h2 restarted"), back);
        assertEquals("running", agent("h2").describe());
        // a freshly started agent JVM may take longer than the client's connect timeout for its first handshake
        await(() -> {
            try {
                return runs("h2", "ci-runner");
            } catch (AgentException e) {
                return false;
            }
        }, () -> "ci-runner kept running in h2's hypervisor, as its restarted agent lists it");
    }

    @Test
    @Order(3)
    void aDestinationCrashedAfterReleaseBootsAgainAndItsAbortTokenResumesTheVmAtTheSourceOnce() throws Exception {
        List<MigrationEvent> events = new CopyOnWriteArrayList<>();
        AgentMigrationService migrations = new AgentMigrationService(directory);
        String id = migrations.start(new MigrationRequest("db-01", "db-01", "h1", "h3", MigrationOptions.defaults(
                MigrationMode.SECURE)), "hold-release", events::add).migrationId();
        await(() -> events.stream().anyMatch(e -> e instanceof MigrationEvent.PhaseChanged p
                && p.phase() == MigrationPhase.RELEASED) || events.stream().anyMatch(
                        MigrationEvent.Finished.class::isInstance), () -> "RELEASE of db-01: " + events);

        String crashed = lab.crash("h3", true, new NullProgressMonitor());
        assertTrue(crashed.startsWith("host h3 crashed"), crashed);
        LabStatus.Agent h3 = agent("h3");
        assertEquals("crashed: agent and hypervisor down", h3.describe());
        assertThrows(AgentException.class, () -> directory.api("h3").get("/v1/host"));
        // h1 released: it never resumes db-01 on its own while the destination is away
        JsonNode atSource = vmOn("h1", "db-01");
        assertNotNull(atSource, "h1 keeps its copy");
        assertFalse(atSource.path("state").asText().equals("RUNNING"), "db-01 must stay paused: " + atSource);

        String restarted = lab.restart("h3", new NullProgressMonitor());
        assertTrue(restarted.startsWith("host h3 restarted: its hypervisor booted from its sealed state"),
                restarted);
        assertEquals("running", agent("h3").describe());
        await(() -> events.stream().anyMatch(MigrationEvent.Finished.class::isInstance), () -> "the end: " + events);
        MigrationEvent last = events.get(events.size() - 1);
        MigrationSummary s = assertInstanceOf(MigrationEvent.Finished.class, last, events.toString()).summary();
        assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, s.outcome(), s.reason());
        assertTrue(s.reason().contains("aborted by h3"), s.reason());
        assertTrue(events.stream().anyMatch(e -> e instanceof MigrationEvent.AnomalySeen a
                && a.kind().equals("IN_DOUBT")), "the console was told the source was in doubt: " + events);

        await(() -> {
            try {
                return runs("h1", "db-01");
            } catch (AgentException e) {
                return false;
            }
        }, () -> "db-01 runs at h1 again");
        JsonNode db = vmOn("h1", "db-01");
        assertEquals("vault", db.path("protectedProcesses").path(0).path("name").asText(), db.toString());
        JsonNode gone = vmOn("h3", "db-01");
        assertTrue(gone == null || !gone.path("state").asText().equals("RUNNING"), "no copy at h3: " + gone);

        for (String h : List.of("h1", "h3")) {
            await(() -> {
                try {
                    return record(h, id) != null;
                } catch (AgentException e) {
                    return false;
                }
            }, () -> h + " logged its record of " + id);
            JsonNode e = record(h, id);
            assertEquals("ABORTED_BY_DESTINATION", e.path("record").path("outcome").asText(), e.toString());
            // each hypervisor signed its own record: the two never met again to countersign
            assertTrue(e.path(h.equals("h1") ? "signedBySource" : "signedByDestination").asBoolean(), e.toString());
            JsonNode v = directory.api(h).get("/v1/migrations/" + id);
            assertFalse(v.path("inDoubt").asBoolean(), v.toString());
            assertEquals("ABORTED_BY_DESTINATION", v.path("outcome").asText(), v.toString());
            if (h.equals("h3")) {
                assertTrue(v.path("reason").asText().startsWith("the host restarted during the migration (READY):"
                        + " its copy was lost with the host's memory"), v.toString());
            }
        }
    }
}
