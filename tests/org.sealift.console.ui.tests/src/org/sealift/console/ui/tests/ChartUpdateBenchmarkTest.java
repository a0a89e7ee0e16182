package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.eclipse.swtchart.Chart;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.MonitorSnapshot;
import org.sealift.console.ui.monitor.MigrationCharts;
import org.sealift.console.ui.parts.MigrationMonitorPart;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationPhase;
import org.sealift.model.RoundStats;

/**
 * Benchmark, not a timed test: how long the UI thread spends per chart update. (1) A live stream of 300 rounds at 50
 * events per second into the monitor service: the part coalesces them; the achieved update rate and the longest
 * UI-thread block are printed. (2) Each of 300 monitor snapshots (1 to 300 rounds) applied to a Migration Monitor and
 * painted, timed one by one. Asserts only that the charts ended with every round.
 */
class ChartUpdateBenchmarkTest {

    private static final int ROUNDS = 300;
    private static final MigrationRequest REQUEST = new MigrationRequest("vm-bench", "bench-1", "h1", "h2",
            MigrationOptions.defaults(MigrationMode.SECURE).withMaxRounds(1000));

    private static RoundStats round(int r) {
        long dirty = 200_000 / (r + 1) + 500;
        return new RoundStats(r, dirty + 1_000, dirty / 40, 100, (dirty + 1_000) * 4_100L, dirty, 40_000_000L, false);
    }

    @Test
    void uiThreadTimePerChartUpdate() throws Exception {
        try (ConsoleHarness h = new ConsoleHarness(null, null, "Sealift chart benchmark")) {
            MigrationMonitorPart part = h.part(MigrationMonitorPart.class, h.shell);
            h.open();
            while (h.display.readAndDispatch()) {
                // let the shell appear
            }

            // (2) a live stream, coalesced by the part
            UiThreadClock clock = new UiThreadClock(h.display);
            clock.phase("live stream");
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger updates = new AtomicInteger();
            int[] lastSeen = { -1 };
            long[] streamMillis = new long[1];
            Thread feeder = new Thread(() -> {
                try {
                    h.monitor.register("live", REQUEST, null);
                    h.monitor.accept(new MigrationEvent.PhaseChanged("live", MigrationPhase.PRECOPY));
                    long t = System.currentTimeMillis();
                    for (int r = 0; r < ROUNDS; r++) {
                        h.monitor.accept(new MigrationEvent.RoundCompleted("live", round(r)));
                        Thread.sleep(20);
                    }
                    streamMillis[0] = System.currentTimeMillis() - t;
                    UiRobot robot = UiRobot.attach(h.display);
                    robot.waitFor(() -> part.charts().values(MigrationCharts.DIRTY).length == ROUNDS,
                            () -> "all rounds charted");
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    done.set(true);
                    h.display.wake();
                }
            }, "round-feeder");
            Runnable[] watch = new Runnable[1];
            watch[0] = () -> {
                int n = part.charts().values(MigrationCharts.DIRTY).length;
                if (n != lastSeen[0]) {
                    lastSeen[0] = n;
                    updates.incrementAndGet();
                }
                if (!done.get()) {
                    h.display.timerExec(5, watch[0]);
                }
            };
            h.display.timerExec(5, watch[0]);
            feeder.start();
            clock.loop(done);
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            // (1) per-update cost, snapshot by snapshot
            MigrationMonitorServiceImpl gen = new MigrationMonitorServiceImpl();
            gen.register("bench", REQUEST, null);
            gen.accept(new MigrationEvent.PhaseChanged("bench", MigrationPhase.PRECOPY));
            List<MonitorSnapshot> snapshots = new ArrayList<>();
            for (int r = 0; r < ROUNDS; r++) {
                gen.accept(new MigrationEvent.RoundCompleted("bench", round(r)));
                snapshots.add(gen.current());
            }
            // a second monitor part of its own, so these snapshots do not mix with the live run's
            org.eclipse.swt.widgets.Shell shell2 = new org.eclipse.swt.widgets.Shell(h.display);
            shell2.setLayout(new org.eclipse.swt.layout.FillLayout());
            shell2.setBounds(0, 0, 1260, 780);
            org.eclipse.e4.core.contexts.IEclipseContext own = h.context.createChild("per-update benchmark");
            own.set(org.sealift.console.core.monitor.MigrationMonitorService.class, new MigrationMonitorServiceImpl());
            MigrationMonitorPart part1 = h.part(MigrationMonitorPart.class, shell2, own);
            shell2.open();
            while (h.display.readAndDispatch()) {
                // let it appear
            }
            double[] ms = new double[ROUNDS];
            for (int i = 0; i < ROUNDS; i++) {
                long t = System.nanoTime();
                part1.apply(snapshots.get(i));
                for (Chart c : part1.charts().charts()) {
                    c.redraw();
                }
                shell2.update(); // paint now, on this thread, so the paint is in the measurement
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            assertEquals(ROUNDS, part1.charts().values(MigrationCharts.DIRTY).length);
            shell2.dispose();

            double rate = updates.get() * 1000.0 / Math.max(1, streamMillis[0]);
            System.out.println(String.format("BENCHMARK charts: UI-thread time per update (apply snapshot + paint 3"
                    + " SWTChart charts), %d updates of 1..%d rounds: median %.2f ms, p95 %.2f ms, max %.2f ms"
                    + " (goal < 10 ms)%n  live stream of %d rounds at 50 events/s over %d ms: %d chart updates ="
                    + " %.1f updates/s (coalesced to at most 10/s; goal >= 5/s)%n%s", ROUNDS, ROUNDS,
                    sorted[ROUNDS / 2], sorted[(int) (ROUNDS * 0.95)], sorted[ROUNDS - 1], ROUNDS, streamMillis[0],
                    updates.get(), rate, clock.report()));
            assertEquals(ROUNDS, part.charts().values(MigrationCharts.DIRTY).length);
        }
    }
}
