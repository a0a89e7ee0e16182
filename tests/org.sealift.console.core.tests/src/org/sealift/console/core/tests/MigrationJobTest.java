package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.NullProgressMonitor;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.internal.CompatibilityServiceImpl;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.internal.TrustMaterialServiceImpl;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.MigrationJob;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.migration.Preflight;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.FakeInventorySource;
import org.sealift.console.core.tests.fixtures.ScriptedMigrationService;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;

/** The migration job against the scripted service: progress, the end, and what cancel does before and after RELEASE. */
class MigrationJobTest {

    private static final MigrationRequest WEB_TO_H2 = new MigrationRequest("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
            "web-1", "h1", "h2", MigrationOptions.defaults(MigrationMode.SECURE));

    private final MigrationMonitorServiceImpl monitor = new MigrationMonitorServiceImpl();
    private final ScriptedMigrationService service = new ScriptedMigrationService();

    private MigrationRun run(MigrationJob job) {
        return monitor.current().run(job.migrationId()).orElseThrow();
    }

    @Test
    void aMigrationRunsToTheEndAndTheMonitorHasEveryRoundAndTheDowntime() throws Exception {
        MigrationJob job = new MigrationJob(WEB_TO_H2, service, monitor);
        job.schedule();
        assertTrue(job.join(60_000, new NullProgressMonitor()), "the job did not end");
        assertEquals(IStatus.OK, job.getResult().getSeverity(), job.getResult().getMessage());
        assertEquals("migrated web-1 from h1 to h2, downtime 87 ms", job.getResult().getMessage());
        MigrationRun r = run(job);
        assertEquals(MigrationOutcome.COMMITTED, r.outcome().orElseThrow());
        assertEquals(6, r.rounds().size(), "5 pre-copy rounds and the stop-and-copy round");
        assertTrue(r.rounds().get(5).stats().stopAndCopy());
        assertEquals(87.5, r.measuredDowntimeMs().orElseThrow(), 1e-9);
        assertEquals(List.of(WEB_TO_H2), service.started);
    }

    @Test
    void cancellingBeforeReleaseSendsAbortAndTheVmStaysAtTheSource() throws Exception {
        service.beforeRelease = new CountDownLatch(1);
        MigrationJob job = new MigrationJob(WEB_TO_H2, service, monitor);
        job.schedule();
        assertTrue(service.roundsSent.await(60, TimeUnit.SECONDS));
        Await.until(() -> job.migrationId() != null, () -> "migration id");
        monitor.requestCancel(job.migrationId()); // what the monitor's Cancel button does
        service.beforeRelease.countDown();
        assertTrue(job.join(60_000, new NullProgressMonitor()), "the job did not end");

        assertEquals(1, service.cancelCalls.get(), "cancel must reach the agent exactly once");
        assertEquals(IStatus.CANCEL, job.getResult().getSeverity(), job.getResult().getMessage());
        assertEquals("cancelled: web-1 from h1 to h2 was aborted, the VM stays on h1", job.getResult().getMessage());
        MigrationRun r = run(job);
        assertEquals(CancelState.ABORT_SENT, r.cancel());
        assertEquals(MigrationOutcome.ABORTED_BY_SOURCE, r.outcome().orElseThrow());
        assertTrue(r.cancelMessage().startsWith("ABORT sent before RELEASE"), r.cancelMessage());
    }

    @Test
    void cancellingAfterReleaseIsRefusedWithTheReasonAndTheMigrationCompletes() throws Exception {
        service.afterRelease = new CountDownLatch(1);
        MigrationJob job = new MigrationJob(WEB_TO_H2, service, monitor);
        job.schedule();
        assertTrue(service.released.await(60, TimeUnit.SECONDS));
        Await.until(() -> job.migrationId() != null, () -> "migration id");
        job.cancel(); // the job framework's cancel (progress dialog, Jobs view) takes the same path
        Await.until(() -> run(job).cancel() == CancelState.REFUSED, () -> "refusal: " + run(job));
        assertTrue(run(job).cancelMessage().contains(ScriptedMigrationService.AFTER_RELEASE), run(job).cancelMessage());
        service.afterRelease.countDown();
        assertTrue(job.join(60_000, new NullProgressMonitor()), "the job did not end");

        assertEquals(IStatus.WARNING, job.getResult().getSeverity());
        assertTrue(job.getResult().getMessage().startsWith("migrated web-1 from h1 to h2, downtime 87 ms; the cancel"
                + " request was refused: migration"), job.getResult().getMessage());
        assertEquals(MigrationOutcome.COMMITTED, run(job).outcome().orElseThrow());
    }

    @Test
    void aRefusedStartIsAnErrorAndIsKeptInTheHistoryWithTheReason() throws Exception {
        service.refuseStart = "host h1 refused the migration: VM web-1 is locked by migration 3fa9c2d1\u2026";
        MigrationJob job = new MigrationJob(WEB_TO_H2, service, monitor);
        job.schedule();
        assertTrue(job.join(60_000, new NullProgressMonitor()));
        assertEquals(IStatus.ERROR, job.getResult().getSeverity());
        assertTrue(job.getResult().getMessage().endsWith(service.refuseStart), job.getResult().getMessage());
        assertEquals(service.refuseStart, monitor.current().history().get(0).startError());
    }

    @Test
    void preflightFailsWithoutAnAgentClientAndPassesWithOne() throws Exception {
        FakeInventorySource src = FakeInventorySource.smallCluster();
        InventoryServiceImpl inv = new InventoryServiceImpl(src);
        Await.until(() -> inv.current().host("h1").map(HostNode::isReachable).orElse(false), () -> "h1");
        inv.loadVms("h1");
        Await.until(() -> inv.current().vms("h1").isPresent(), () -> "VMs of h1");
        CompatibilityServiceImpl compat = new CompatibilityServiceImpl(new TrustMaterialServiceImpl(
                new SettingsServiceImpl(java.nio.file.Files.createTempDirectory("settings"))));

        List<CheckResult> without = Preflight.run(WEB_TO_H2, inv.current(), compat, null, new NullProgressMonitor());
        assertTrue(!Preflight.passed(without));
        CheckResult missing = without.stream().filter(c -> c.name().equals("agent client")).findFirst().orElseThrow();
        assertEquals(CheckResult.Verdict.FAIL, missing.verdict());
        assertTrue(missing.message().contains("'sealift migrate'"), missing.message());

        List<CheckResult> with = Preflight.run(WEB_TO_H2, inv.current(), compat, service, new NullProgressMonitor());
        assertTrue(Preflight.passed(with), with.toString());
        assertEquals(1, service.preflightCalls.get());
        assertNotNull(with.stream().filter(c -> c.name().equals("agents' dry run")).findFirst().orElse(null));

        List<CheckResult> toH4 = Preflight.run(WEB_TO_H2.withDestination("h4"), inv.current(), compat, service,
                new NullProgressMonitor());
        assertTrue(!Preflight.passed(toH4));
        assertEquals(1, service.preflightCalls.get(), "the agents are not asked when the console's checks failed");
    }
}
