package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.PhaseMark;
import org.sealift.console.core.monitor.RoundPoint;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.model.RoundStats;

class MigrationMonitorTest {

    private final AtomicLong nanos = new AtomicLong();
    private final MigrationMonitorServiceImpl monitor = new MigrationMonitorServiceImpl(
            Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC), nanos::get);
    private static final MigrationRequest REQ = new MigrationRequest("vm-web", "web-1", "h1", "h2",
            MigrationOptions.defaults(MigrationMode.SECURE));

    @Test
    void eventsBecomeRoundsPhasesAndTheMeasuredDowntime() {
        monitor.register("m1", REQ, null);
        nanos.set(5_000_000);
        monitor.accept(new MigrationEvent.PhaseChanged("m1", MigrationPhase.PRECOPY));
        // 100 MiB in 1 s leaves 2560 dirty pages = 10 MiB: stopping now would take 100 ms
        nanos.set(1_005_000_000);
        monitor.accept(new MigrationEvent.RoundCompleted("m1", new RoundStats(0, 25_000, 600, 0, 104_857_600, 2_560,
                1_000_000_000, false)));
        nanos.set(1_200_000_000);
        monitor.accept(new MigrationEvent.AnomalySeen("m1", "REPLAY", "page 0x1f3 version 4 dropped"));
        monitor.accept(new MigrationEvent.PhaseChanged("m1", MigrationPhase.STOP_AND_COPY));
        monitor.accept(new MigrationEvent.RoundCompleted("m1", new RoundStats(1, 2_500, 60, 0, 10_500_000, 0,
                90_000_000, true)));
        monitor.accept(new MigrationEvent.PhaseChanged("m1", MigrationPhase.RELEASED));
        nanos.set(1_400_000_000);
        monitor.accept(new MigrationEvent.PhaseChanged("m1", MigrationPhase.FINISHED));
        MigrationRun beforeEnd = monitor.current().run("m1").orElseThrow();
        assertEquals(MigrationPhase.RELEASED, beforeEnd.phase(), "only the Finished event ends a run");

        monitor.accept(new MigrationEvent.Finished("m1", new MigrationSummary("m1", "vm-web", MigrationMode.SECURE,
                MigrationOutcome.COMMITTED, "completed", List.of(), 1_400_000_000, 97_000_000, List.of())));

        MigrationRun run = monitor.current().run("m1").orElseThrow();
        assertTrue(run.isFinished());
        assertEquals(2, run.rounds().size());
        RoundPoint r0 = run.rounds().get(0);
        assertEquals(100.0, r0.throughputMiBps(), 1e-9);
        assertEquals(100.0, r0.estimatedDowntimeMs(), 1e-9);
        assertEquals(1005, r0.atMillis());
        assertEquals(97.0, run.measuredDowntimeMs().orElseThrow(), 1e-9);
        assertEquals(MigrationOutcome.COMMITTED, run.outcome().orElseThrow());
        assertEquals(List.of("REPLAY: page 0x1f3 version 4 dropped"), run.anomalies());
        assertEquals(List.of(new PhaseMark(MigrationPhase.HANDSHAKE, 0), new PhaseMark(MigrationPhase.PRECOPY, 5),
                new PhaseMark(MigrationPhase.STOP_AND_COPY, 1200), new PhaseMark(MigrationPhase.RELEASED, 1200),
                new PhaseMark(MigrationPhase.FINISHED, 1400)), run.timeline());
        assertEquals("web-1: h1 \u2192 h2", run.title());
    }

    /**
     * A migration started elsewhere is followed late: its events are replayed in one burst. The timeline takes the
     * times the agent saw them, so the phases keep their lengths instead of collapsing into the burst.
     */
    @Test
    void aReplayedMigrationKeepsItsAgentsTimesNotTheBurstsArrival() {
        Instant t0 = Instant.parse("2026-03-01T11:59:58Z");
        monitor.register("m9", REQ, null);
        nanos.set(1_500_000_000); // everything below arrives at this one moment
        monitor.accept(new MigrationEvent.PhaseChanged("m9", MigrationPhase.HANDSHAKE), t0);
        monitor.accept(new MigrationEvent.PhaseChanged("m9", MigrationPhase.PRECOPY), t0.plusMillis(40));
        monitor.accept(new MigrationEvent.RoundCompleted("m9", new RoundStats(0, 25_000, 600, 0, 104_857_600, 2_560,
                850_000_000, false)), t0.plusMillis(890));
        monitor.accept(new MigrationEvent.PhaseChanged("m9", MigrationPhase.STOP_AND_COPY), t0.plusMillis(900));
        monitor.accept(new MigrationEvent.RoundCompleted("m9", new RoundStats(1, 2_500, 60, 0, 10_500_000, 0,
                60_000_000, true)), t0.plusMillis(960));
        monitor.accept(new MigrationEvent.PhaseChanged("m9", MigrationPhase.RELEASED), t0.plusMillis(1_100));
        monitor.accept(new MigrationEvent.PhaseChanged("m9", MigrationPhase.FINISHED)); // untimed, as the status sends it
        monitor.accept(new MigrationEvent.Finished("m9", new MigrationSummary("m9", "vm-web", MigrationMode.SECURE,
                MigrationOutcome.COMMITTED, "completed", List.of(), 1_300_000_000, 210_000_000, List.of())),
                t0.plusMillis(1_300));

        MigrationRun run = monitor.current().run("m9").orElseThrow();
        assertEquals(List.of(new PhaseMark(MigrationPhase.HANDSHAKE, 0), new PhaseMark(MigrationPhase.PRECOPY, 40),
                new PhaseMark(MigrationPhase.STOP_AND_COPY, 900), new PhaseMark(MigrationPhase.RELEASED, 1100),
                new PhaseMark(MigrationPhase.FINISHED, 1300)), run.timeline());
        assertEquals(890, run.rounds().get(0).atMillis());
        assertEquals(960, run.rounds().get(1).atMillis());
    }

    @Test
    void anEndWithATimeAfterUntimedEventsStaysOnTheirClock() {
        monitor.register("m8", REQ, null);
        nanos.set(400_000_000);
        monitor.accept(new MigrationEvent.PhaseChanged("m8", MigrationPhase.PRECOPY));
        nanos.set(700_000_000);
        monitor.accept(new MigrationEvent.Finished("m8", new MigrationSummary("m8", "vm-web", MigrationMode.SECURE,
                MigrationOutcome.COMMITTED, "completed", List.of(), 700_000_000, 20_000_000, List.of())),
                Instant.parse("2026-03-01T11:00:00Z"));
        assertEquals(List.of(new PhaseMark(MigrationPhase.HANDSHAKE, 0), new PhaseMark(MigrationPhase.PRECOPY, 400),
                new PhaseMark(MigrationPhase.FINISHED, 700)), monitor.current().run("m8").orElseThrow().timeline());
    }

    @Test
    void eventsAfterTheEndDoNotReopenARun() {
        monitor.register("m2", REQ, null);
        monitor.accept(new MigrationEvent.Finished("m2", new MigrationSummary("m2", "vm-web", MigrationMode.SECURE,
                MigrationOutcome.ABORTED_BY_DESTINATION, "DEADLINE: no RELEASE within 30 s", List.of(), 1, 0,
                List.of())));
        long version = monitor.current().version();
        monitor.accept(new MigrationEvent.RoundCompleted("m2", new RoundStats(7, 1, 0, 0, 4096, 0, 1, false)));
        assertEquals(version, monitor.current().version());
        assertTrue(monitor.current().run("m2").get().rounds().isEmpty());
    }

    @Test
    void runningMigrationsComeFirstThenTheHistoryNewestFirst() {
        monitor.register("a", REQ, null);
        monitor.register("b", REQ, null);
        monitor.accept(new MigrationEvent.Finished("a", new MigrationSummary("a", "vm-web", MigrationMode.SECURE,
                MigrationOutcome.COMMITTED, "completed", List.of(), 1, 1, List.of())));
        monitor.startFailed(REQ, "host h1 refused: VM web-1 is locked by another migration");
        assertEquals(List.of("b"), monitor.current().active().stream().map(MigrationRun::migrationId).toList());
        assertEquals(3, monitor.current().runs().size());
        MigrationRun failed = monitor.current().history().stream().filter(r -> !r.startError().isEmpty())
                .findFirst().orElseThrow();
        assertEquals("host h1 refused: VM web-1 is locked by another migration", failed.startError());
    }

    @Test
    void cancelRunsTheRegisteredActionOnceAndRecordsTheAgentsAnswer() {
        AtomicInteger cancels = new AtomicInteger();
        monitor.register("m3", REQ, cancels::incrementAndGet);
        monitor.requestCancel("m3");
        assertEquals(1, cancels.get());
        assertEquals(CancelState.REQUESTED, monitor.current().run("m3").get().cancel());
        monitor.cancelAnswered("m3", false, "past RELEASE: the destination owns the VM");
        MigrationRun r = monitor.current().run("m3").get();
        assertEquals(CancelState.REFUSED, r.cancel());
        assertEquals("past RELEASE: the destination owns the VM", r.cancelMessage());
        monitor.requestCancel("unknown-id"); // nothing registered: nothing happens
        assertEquals(1, cancels.get());
    }
}
