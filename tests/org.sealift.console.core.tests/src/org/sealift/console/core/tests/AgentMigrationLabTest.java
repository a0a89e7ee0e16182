package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.NullProgressMonitor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.agent.AgentRefusedException;
import org.sealift.console.agent.internal.AgentAttestationFetcher;
import org.sealift.console.agent.internal.AgentInDoubtService;
import org.sealift.console.core.attest.AttestationEntry;
import org.sealift.console.core.attest.ImportResult;
import org.sealift.console.core.attest.Verdict;
import org.sealift.console.core.internal.AttestationReviewServiceImpl;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.internal.TrustMaterialServiceImpl;
import org.sealift.console.core.migration.CancelResult;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.InDoubtService;
import org.sealift.console.core.migration.MigrationHandle;
import org.sealift.console.core.migration.MigrationJob;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.LabCluster;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Pem;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Migrations, cancellation, attestation records and in-doubt listings through the console's agent client against a
 * real lab. The tests run in order on one lab: each leaves the VMs where the next expects them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentMigrationLabTest {

    /** Migrations on a busy 2-core machine with several JVMs: a hang limit, not a speed assertion. */
    private static final long MIGRATION_LIMIT_MILLIS = 240_000;

    private static LabCluster lab;
    private static AgentDirectory directory;
    private static AgentMigrationService migrations;
    private static AttestationReviewServiceImpl review;
    private static AgentAttestationFetcher fetcher;
    /** The committed migration of db-01 from h1 to h2 (test 2), for the token tests. */
    private static String committedId;

    @BeforeAll
    static void startLab() throws Exception {
        Path tmp = Files.createTempDirectory("sealift-console-migration");
        lab = LabCluster.start(tmp.resolve("lab"), "--no-rogue");
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home")),
                Map.of(LabConnection.ENV, lab.dir().toString()));
        directory = new AgentDirectory(settings, Clock.systemUTC());
        migrations = new AgentMigrationService(directory);
        review = new AttestationReviewServiceImpl(new TrustMaterialServiceImpl(settings), Clock.systemUTC());
        fetcher = new AgentAttestationFetcher(directory, review);
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.close();
        }
    }

    /** Everything a migration delivered, in delivery order. */
    private static final class Recorder implements java.util.function.Consumer<MigrationEvent> {
        final List<MigrationEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public void accept(MigrationEvent e) {
            events.add(e);
        }

        boolean finished() {
            return events.stream().anyMatch(MigrationEvent.Finished.class::isInstance);
        }

        boolean reached(MigrationPhase p) {
            return events.stream().anyMatch(e -> e instanceof MigrationEvent.PhaseChanged pc && pc.phase() == p);
        }

        MigrationSummary summary() {
            MigrationEvent last = events.get(events.size() - 1);
            return assertInstanceOf(MigrationEvent.Finished.class, last, "Finished must be the last event: "
                    + events).summary();
        }

        List<MigrationEvent.RoundCompleted> rounds() {
            return events.stream().filter(MigrationEvent.RoundCompleted.class::isInstance)
                    .map(MigrationEvent.RoundCompleted.class::cast).toList();
        }
    }

    private static void awaitFinished(Recorder r, String what) {
        long end = System.currentTimeMillis() + MIGRATION_LIMIT_MILLIS;
        while (!r.finished()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("gave up waiting for the end of " + what + "; events so far: " + r.events);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    private static MigrationRequest request(String vm, String from, String to, MigrationOptions options) {
        return new MigrationRequest(vm, vm, from, to, options);
    }

    private static JsonNode vmOn(String host, String vm) throws Exception {
        for (JsonNode v : directory.api(host).get("/v1/vms")) {
            if (v.path("name").asText().equals(vm)) {
                return v;
            }
        }
        return null;
    }

    @Test
    @Order(1)
    void preflightAsksBothAgentsAndNamesWhatWouldFail() throws Exception {
        List<CheckResult> ok = migrations.preflight(request("db-01", "h1", "h2",
                MigrationOptions.defaults(MigrationMode.SECURE)), new NullProgressMonitor());
        assertTrue(ok.stream().noneMatch(c -> c.verdict() == CheckResult.Verdict.FAIL), "failed checks: " + ok);
        assertTrue(ok.stream().anyMatch(c -> c.name().equals("VM at the source") && c.message().equals(
                "VM db-01 is running on host h1 (32 MiB, 1 protected process)")), ok.toString());

        List<CheckResult> plain = migrations.preflight(request("db-01", "h1", "h2",
                MigrationOptions.defaults(MigrationMode.PLAIN)), new NullProgressMonitor());
        assertTrue(plain.contains(CheckResult.fail("VM at the source", "VM db-01 has 1 protected process(es): the"
                + " hypervisor of h1 refuses plain mode for it; use secure mode")), plain.toString());

        List<CheckResult> taken = migrations.preflight(request("ci-runner", "h2", "h2",
                MigrationOptions.defaults(MigrationMode.SECURE)), new NullProgressMonitor());
        assertTrue(taken.stream().anyMatch(c -> c.verdict() == CheckResult.Verdict.FAIL
                && c.message().startsWith("host h2 already has a VM named ci-runner (running)")), taken.toString());

        List<CheckResult> missing = migrations.preflight(request("no-such-vm", "h1", "h2",
                MigrationOptions.defaults(MigrationMode.SECURE)), new NullProgressMonitor());
        CheckResult vm = missing.stream().filter(c -> c.name().equals("VM at the source")).findFirst().orElseThrow();
        assertEquals(CheckResult.Verdict.FAIL, vm.verdict());
        assertTrue(vm.message().startsWith("agent h1 refused: "), vm.message());
        assertTrue(vm.message().contains("no-such-vm"), vm.message());
    }

    @Test
    @Order(2)
    void aSecureMigrationDeliversPhasesAndRoundsInOrderAndEndsCommittedWithItsDowntime() throws Exception {
        Recorder r = new Recorder();
        MigrationHandle h = migrations.start(request("db-01", "h1", "h2",
                MigrationOptions.defaults(MigrationMode.SECURE)), r);
        assertTrue(h.migrationId().matches("[0-9a-f]{32}"), h.migrationId());
        awaitFinished(r, "the migration of db-01");
        committedId = h.migrationId();

        MigrationSummary s = r.summary();
        assertEquals(MigrationOutcome.COMMITTED, s.outcome(), "reason: " + s.reason() + ", events " + r.events);
        assertEquals(h.migrationId(), s.migrationId());
        assertTrue(r.events.stream().allMatch(e -> e.migrationId().equals(h.migrationId())), r.events.toString());
        assertEquals(1, r.events.stream().filter(MigrationEvent.Finished.class::isInstance).count());

        List<MigrationEvent.RoundCompleted> rounds = r.rounds();
        assertFalse(rounds.isEmpty(), "no round arrived: " + r.events);
        for (int i = 0; i < rounds.size(); i++) {
            assertEquals(i, rounds.get(i).stats().round(), "rounds in order: " + rounds);
        }
        assertTrue(rounds.get(rounds.size() - 1).stats().stopAndCopy(), "the last round is stop-and-copy");
        assertTrue(rounds.get(0).stats().pagesProtected() > 0, "db-01's vault pages travel sealed in round 0");
        assertEquals(rounds.size(), s.rounds().size());
        assertTrue(s.downtimeNanos() > 0, "the final downtime is reported: " + s);

        List<MigrationPhase> phases = r.events.stream().filter(MigrationEvent.PhaseChanged.class::isInstance)
                .map(e -> ((MigrationEvent.PhaseChanged) e).phase()).toList();
        List<MigrationPhase> sorted = new ArrayList<>(phases);
        sorted.sort(null);
        assertEquals(sorted, phases, "phases in order");
        assertTrue(phases.containsAll(List.of(MigrationPhase.PRECOPY, MigrationPhase.STOP_AND_COPY,
                MigrationPhase.RELEASED, MigrationPhase.FINISHED)), phases.toString());
        int firstRound = r.events.indexOf(rounds.get(0));
        int precopy = r.events.indexOf(new MigrationEvent.PhaseChanged(h.migrationId(), MigrationPhase.PRECOPY));
        assertTrue(precopy < firstRound, "PRECOPY before the first round: " + r.events);

        JsonNode moved = vmOn("h2", "db-01");
        assertEquals("RUNNING", moved.path("state").asText(), "db-01 at h2: " + moved);
        JsonNode left = vmOn("h1", "db-01");
        assertTrue(left == null || !left.path("state").asText().equals("RUNNING"), "db-01 must not run at h1: "
                + left);
    }

    @Test
    @Order(3)
    void cancelBeforeReleaseAbortsForRealAndTheVmStaysOnTheSource() throws Exception {
        // 1 MiB/s makes round 0 of the 64 MiB ci-runner last long enough to cancel in pre-copy
        Recorder r = new Recorder();
        MigrationHandle h = migrations.start(request("ci-runner", "h2", "h3",
                MigrationOptions.defaults(MigrationMode.SECURE).withBandwidthMiBps(1)), r);
        Await.until(() -> r.reached(MigrationPhase.PRECOPY), () -> "pre-copy of ci-runner: " + r.events);

        CancelResult c = h.cancel();
        assertTrue(c.abortSent(), c.message());
        assertEquals("host h2 sends ABORT to h3: the destination discards its copy and VM ci-runner resumes on h2",
                c.message());
        awaitFinished(r, "the cancelled migration of ci-runner");
        MigrationSummary s = r.summary();
        assertEquals(MigrationOutcome.ABORTED_BY_SOURCE, s.outcome(), s.reason());
        assertTrue(s.reason().contains("cancelled by the operator before RELEASE"), s.reason());
        assertFalse(r.reached(MigrationPhase.RELEASED), r.events.toString());

        assertEquals("RUNNING", vmOn("h2", "ci-runner").path("state").asText(), "ci-runner stays on h2");
        JsonNode atDestination = vmOn("h3", "ci-runner");
        assertTrue(atDestination == null || !List.of("RUNNING", "PAUSED", "INCOMING").contains(
                atDestination.path("state").asText()), "h3 must have discarded its copy: " + atDestination);

        CancelResult again = h.cancel();
        assertFalse(again.abortSent());
        assertTrue(again.message().startsWith("agent h2 refused: migration " + h.migrationId()
                + " has already ended (ABORTED_BY_SOURCE)"), again.message());
    }

    @Test
    @Order(4)
    void cancelAfterReleaseIsRefusedWithTheAgentsReason() throws Exception {
        // the lab's dom0 holds the source's RELEASE on its way: the source has released, the migration is not over
        Recorder r = new Recorder();
        MigrationHandle h = migrations.start(request("web-01", "h1", "h3",
                MigrationOptions.defaults(MigrationMode.SECURE)), "hold-release", r);
        Await.until(() -> r.reached(MigrationPhase.RELEASED) || r.finished(), () -> "RELEASE of web-01: "
                + r.events);
        CancelResult c = h.cancel();
        assertFalse(c.abortSent(), c.message());
        assertTrue(c.message().startsWith("agent h1 refused: migration " + h.migrationId() + " of web-01 is past"
                + " RELEASE: host h3 may already run the VM, so it can no longer be cancelled"), c.message());
        awaitFinished(r, "the released migration of web-01");
        // how the held RELEASE is settled is the hypervisors' business (the destination may time out and abort);
        // what matters here is that the refused cancel did not abort it and the run still ends with its outcome
        assertTrue(r.summary().outcome() != MigrationOutcome.ABORTED_BY_SOURCE, r.summary().toString());
    }

    @Test
    @Order(5)
    void theAgentsAttestationLogsAreFetchedAndTheirRecordsVerify() throws Exception {
        ImportResult first = fetcher.fetchAll(new NullProgressMonitor());
        assertEquals(List.of(), first.problems());
        List<AttestationEntry> entries = review.entries();
        // the committed db-01 record is in the logs of h1 and h2: one entry, found twice
        assertTrue(first.added() >= 2 && first.known() >= 1, "added " + first.added() + ", known " + first.known());
        AttestationEntry db = entries.stream().filter(e -> e.sourceHost().equals("h1")
                && e.destinationHost().equals("h2")).findFirst().orElseThrow(() -> new AssertionError(
                        "no record of the db-01 migration: " + entries));
        assertEquals(org.sealift.protocol.attest.Outcome.COMMITTED, db.outcome());
        assertTrue(db.logHost().equals("h1") || db.logHost().equals("h2"), db.logHost());
        assertTrue(db.logIndex() >= 0);
        for (AttestationEntry e : entries) {
            Verdict v = review.verify(e);
            assertTrue(v.ok(), e.label() + " from " + e.origin() + ": " + v.failures());
        }

        ImportResult again = fetcher.fetchAll(new NullProgressMonitor());
        assertEquals(0, again.added(), "a second fetch reads only new entries");

        // a record whose signature was changed in transit fails, with the verifier's reason
        String pem = SignedRecord.fromPem(db.signed().toPem()).toPem();
        byte[] bytes = Pem.decode(pem).get(0).content();
        bytes[bytes.length - 1] ^= 1;
        SignedRecord forged = SignedRecord.parse(bytes);
        Verdict bad = review.verify(new AttestationEntry(forged, "tampered copy", null, -1));
        assertFalse(bad.ok());
        assertTrue(bad.failures().get(0).contains("signature"), bad.failures().toString());
    }

    @Test
    @Order(6)
    void inDoubtListingAndTokenRefusalsComeFromTheAgents() throws Exception {
        AgentInDoubtService inDoubt = new AgentInDoubtService(directory);
        InDoubtService.Listing l = inDoubt.list();
        assertEquals(List.of(), l.problems());
        assertTrue(l.migrations().stream().allMatch(m -> List.of("h1", "h2", "h3").contains(m.hostId())));

        String unknown = "0123456789abcdef0123456789abcdef";
        AgentRefusedException e = assertThrows(AgentRefusedException.class, () -> inDoubt.exportToken("h1", unknown,
                InDoubtService.TokenKind.RELEASE));
        assertTrue(e.getMessage().startsWith("agent h1 refused: "), e.getMessage());
        assertTrue(e.status() >= 400, e.status() + " " + e.code());
        assertThrows(org.sealift.console.core.inventory.AgentException.class, () -> inDoubt.exportToken("h1",
                "../v1/host", InDoubtService.TokenKind.RELEASE));

        // the RELEASE token of the committed db-01 migration, signed by h1's hypervisor, as an operator carries it
        String token = inDoubt.exportToken("h1", committedId, InDoubtService.TokenKind.RELEASE);
        assertTrue(token.startsWith("SEALIFT-TOKEN 1\n"), token);
        assertTrue(token.contains("\nkind: RELEASE\n") && token.contains("\nmigration-id: " + committedId + "\n"),
                token);
        // handed to the wrong end, the hypervisor refuses it and the agent says why
        AgentRefusedException wrongEnd = assertThrows(AgentRefusedException.class, () -> inDoubt.importToken("h1",
                committedId, token));
        assertEquals(409, wrongEnd.status(), wrongEnd.getMessage());
        assertTrue(wrongEnd.getMessage().contains("a RELEASE token is imported at the destination"),
                wrongEnd.getMessage());
    }

    @Test
    @Order(7)
    void theConsolesMigrationJobRunsOverTheAgentClientAndFeedsTheMonitor() throws Exception {
        MigrationMonitorServiceImpl monitor = new MigrationMonitorServiceImpl();
        MigrationJob job = new MigrationJob(request("db-01", "h2", "h3", MigrationOptions.defaults(
                MigrationMode.SECURE)), migrations, monitor);
        job.schedule();
        job.join(MIGRATION_LIMIT_MILLIS, new NullProgressMonitor());
        assertTrue(job.getResult() != null, "the job did not end: " + monitor.current());
        assertEquals(IStatus.OK, job.getResult().getSeverity(), job.getResult().getMessage());
        assertTrue(job.getResult().getMessage().startsWith("migrated db-01 from h2 to h3, downtime "),
                job.getResult().getMessage());
        org.sealift.console.core.monitor.MigrationRun run = monitor.current().run(job.migrationId()).orElseThrow();
        assertTrue(run.isFinished());
        assertEquals(MigrationOutcome.COMMITTED, run.outcome().orElseThrow());
        assertFalse(run.rounds().isEmpty(), "the charts' rounds: " + run);
        assertTrue(run.measuredDowntimeMs().orElseThrow() > 0, run.toString());
    }
}
