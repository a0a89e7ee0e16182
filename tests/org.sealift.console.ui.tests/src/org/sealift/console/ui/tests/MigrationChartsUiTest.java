package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swtchart.Chart;
import org.eclipse.swtchart.IBarSeries;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.ui.monitor.MigrationCharts;
import org.sealift.console.ui.parts.MigrationMonitorPart;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationPhase;
import org.sealift.model.RoundStats;

/** The pages chart as a person reads it: per round one bar, protected pages stacked on the normal ones. */
class MigrationChartsUiTest {

    @Test
    void normalAndProtectedPagesOfARoundStandOnOneAnotherEvenWhenARoundHasNoProtectedPages() throws Exception {
        try (ConsoleHarness h = new ConsoleHarness(null, null, "Sealift pages chart")) {
            MigrationMonitorPart part = h.part(MigrationMonitorPart.class, h.shell);
            h.open();
            while (h.display.readAndDispatch()) {
                // let the shell appear
            }
            MigrationMonitorServiceImpl gen = new MigrationMonitorServiceImpl();
            gen.register("stack", new MigrationRequest("vm-stack", "stack", "h1", "h2",
                    MigrationOptions.defaults(MigrationMode.SECURE)), null);
            gen.accept(new MigrationEvent.PhaseChanged("stack", MigrationPhase.PRECOPY));
            // (round, normal, protected, zero, bytes, dirty left, duration ns, stop-and-copy); the last has no
            // protected pages: a zero in a series is what used to switch SWTChart's stacking off
            gen.accept(new MigrationEvent.RoundCompleted("stack", new RoundStats(0, 6000, 1000, 500, 7000L * 4100,
                    300, 40_000_000L, false)));
            gen.accept(new MigrationEvent.RoundCompleted("stack", new RoundStats(1, 250, 50, 0, 300L * 4100, 20,
                    5_000_000L, false)));
            gen.accept(new MigrationEvent.RoundCompleted("stack", new RoundStats(2, 20, 0, 0, 20L * 4100, 0,
                    1_000_000L, true)));
            part.apply(gen.current());
            Chart pages = UiRobot.find(h.shell, UiIds.CHART_PAGES, Chart.class);
            assertNotNull(pages, "the pages chart");
            pages.redraw();
            h.shell.update(); // bar bounds are known once painted
            while (h.display.readAndDispatch()) {
                // paint
            }
            IBarSeries<?> normal = (IBarSeries<?>) pages.getSeriesSet().getSeries(MigrationCharts.NORMAL);
            IBarSeries<?> prot = (IBarSeries<?>) pages.getSeriesSet().getSeries(MigrationCharts.PROTECTED);
            assertTrue(normal.isStackEnabled() && prot.isStackEnabled(), "both bar series stack");
            Rectangle[] n = normal.getBounds();
            Rectangle[] p = prot.getBounds();
            assertEquals(3, n.length, "one normal bar per round");
            for (int r = 0; r < 2; r++) {
                assertEquals(n[r].x, p[r].x, "round " + r + ": the protected bar stands in the normal bar's column");
                assertEquals(n[r].width, p[r].width, "round " + r);
                assertTrue(p[r].y + p[r].height <= n[r].y + 1, "round " + r + ": protected pages on top of the"
                        + " normal ones (protected " + p[r] + ", normal " + n[r] + ")");
            }
        }
    }
}
