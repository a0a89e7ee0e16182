package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.agent.internal.AgentInventorySource;
import org.sealift.console.agent.internal.ClusterWatcher;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.MigrationHandle;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.LabCluster;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The console follows migrations it did not start, against a real lab: one started straight through an agent's
 * management API (as the CLI or a script does) shows up in the monitor with its rounds and outcome, the inventory
 * moves the VM without anyone refreshing it, and a migration started by this console is not listed twice.
 */
class ClusterWatcherLabTest {

    /** Migrations on a busy 2-core machine with several JVMs: a hang limit, not a speed assertion. */
    private static final long MIGRATION_LIMIT_MILLIS = 240_000;

    private static LabCluster lab;
    private static AgentDirectory directory;
    private static AgentMigrationService migrations;
    private static MigrationMonitorServiceImpl monitor;
    private static InventoryServiceImpl inventory;
    private static ClusterWatcher watcher;

    @BeforeAll
    static void startLab() throws Exception {
        Path tmp = Files.createTempDirectory("sealift-console-watch");
        lab = LabCluster.start(tmp.resolve("lab"), "--no-rogue");
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home")),
                Map.of(LabConnection.ENV, lab.dir().toString()));
        directory = new AgentDirectory(settings, Clock.systemUTC());
        migrations = new AgentMigrationService(directory);
        monitor = new MigrationMonitorServiceImpl();
        inventory = new InventoryServiceImpl(new AgentInventorySource(directory));
        watcher = new ClusterWatcher(directory, migrations, monitor, inventory);
        watcher.activate();
    }

    @AfterAll
    static void stopLab() {
        if (watcher != null) {
            watcher.deactivate();
        }
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    void aMigrationStartedElsewhereIsFollowedAndTheInventoryMovesTheVmWhileOneStartedHereIsListedOnce()
            throws Exception {
        Await.until(() -> inventory.current().host("h1").map(h -> h.isReachable()).orElse(false)
                && inventory.current().host("h2").map(h -> h.isReachable()).orElse(false),
                () -> "h1 and h2 answered: " + inventory.current().hosts());
        inventory.loadVms("h1");
        inventory.loadVms("h2");
        Await.until(() -> names("h1").contains("db-01") && inventory.current().vms("h2").isPresent(),
                () -> "db-01 listed on h1: " + inventory.current());
        // the watcher subscribes on its own threads: a migration started before that is not shown (the console
        // shows what happens while it watches), so wait until it watches all three agents
        Await.until(() -> watcher.watching() == 3, () -> "the watcher follows h1, h2 and h3: " + watcher.watching());

        // someone else starts a migration, straight through h1's management API
        AgentApi h1 = directory.api("h1");
        ObjectNode body = AgentApi.mapper().createObjectNode();
        body.put("vm", "db-01");
        body.put("to", "h2");
        body.put("mode", "secure");
        String id = h1.post("/v1/migrations", body).path("id").asText();
        assertTrue(!id.isEmpty(), "the agent names the migration");

        Await.until(() -> monitor.current().run(id).map(MigrationRun::isFinished).orElse(false),
                MIGRATION_LIMIT_MILLIS, () -> "migration " + id + " listed and finished in the monitor: "
                        + monitor.current().runs());
        MigrationRun run = monitor.current().run(id).orElseThrow();
        assertEquals(MigrationOutcome.COMMITTED, run.outcome().orElseThrow(), run.toString());
        assertEquals("h1", run.request().sourceHostId());
        assertEquals("h2", run.request().destinationHostId());
        assertEquals(MigrationMode.SECURE, run.request().options().mode());
        assertTrue(run.rounds().size() >= 2, "rounds reached the monitor: " + run.rounds());
        // followed late (it may even have ended before the watcher took it up), yet drawn on the agent's clock:
        // the phases in order and the timeline as long as the migration, not squeezed into the replay's burst
        List<org.sealift.console.core.monitor.PhaseMark> marks = run.timeline();
        for (int i = 1; i < marks.size(); i++) {
            assertTrue(marks.get(i).atMillis() >= marks.get(i - 1).atMillis(), "timeline in order: " + marks);
        }
        long drawn = marks.get(marks.size() - 1).atMillis();
        long measured = run.summary().totalNanos() / 1_000_000L;
        assertTrue(drawn >= measured / 2 && drawn <= measured + 1000, "timeline " + drawn + " ms for a migration of "
                + measured + " ms: " + marks);
        assertTrue(marks.stream().anyMatch(m -> m.phase() == MigrationPhase.PRECOPY), marks.toString());

        // nobody refreshed the inventory: the watcher's update moves db-01 from h1 to h2
        Await.until(() -> !names("h1").contains("db-01") && names("h2").contains("db-01"),
                () -> "db-01 on h2 only: " + inventory.current());

        // a migration this console starts (as the wizard's job does) is followed once, not adopted a second time
        MigrationRequest request = new MigrationRequest("web-01", "web-01", "h1", "h2",
                MigrationOptions.defaults(MigrationMode.PLAIN));
        MigrationHandle here = migrations.start(request, monitor::accept);
        monitor.register(here.migrationId(), request, () -> {
        });
        Await.until(() -> monitor.current().run(here.migrationId()).map(MigrationRun::isFinished).orElse(false),
                MIGRATION_LIMIT_MILLIS, () -> "the console's own migration finished: " + monitor.current().runs());
        Thread.sleep(3_000); // longer than the watcher waits before it adopts a migration it does not know
        List<String> ids = monitor.current().runs().stream().map(MigrationRun::migrationId).toList();
        assertEquals(List.of(here.migrationId(), id), ids, "each migration listed once, newest first");
        Await.until(() -> names("h2").contains("web-01"), () -> "web-01 on h2: " + inventory.current());
    }

    private static List<String> names(String host) {
        InventorySnapshot s = inventory.current();
        return s.vms(host).map(l -> l.stream().map(VmNode::name).toList()).orElse(List.of());
    }
}
