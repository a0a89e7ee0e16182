package org.sealift.console.ui.monitor;

import java.util.List;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swtchart.Chart;
import org.eclipse.swtchart.IAxis;
import org.eclipse.swtchart.IBarSeries;
import org.eclipse.swtchart.ILineSeries;
import org.eclipse.swtchart.ILineSeries.PlotSymbolType;
import org.eclipse.swtchart.ISeries;
import org.eclipse.swtchart.ISeries.SeriesType;
import org.eclipse.swtchart.LineStyle;
import org.eclipse.swtchart.Range;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.RoundPoint;
import org.sealift.console.ui.util.UiIds;

/**
 * The three charts of one migration, per round: pages sent (normal vs protected, stacked) with the dirty pages left,
 * the stream throughput, and the estimated stop-and-copy downtime against the downtime finally measured. Shapes
 * follow Xen's precopy statistics. {@link #show} replaces all series data; it is what the monitor calls per
 * (coalesced) update.
 */
public final class MigrationCharts extends Composite {

    public static final String NORMAL = "normal pages";
    public static final String PROTECTED = "protected pages";
    public static final String DIRTY = "dirty pages left";
    public static final String THROUGHPUT = "throughput (MiB/s)";
    public static final String ESTIMATED = "estimated downtime (ms)";
    public static final String MEASURED = "measured downtime (ms)";

    private final Chart pages;
    private final Chart throughput;
    private final Chart downtime;
    private int rounds;

    public MigrationCharts(Composite parent) {
        super(parent, SWT.NONE);
        GridLayout layout = new GridLayout(2, true);
        layout.marginWidth = 0;
        layout.marginHeight = 0;
        setLayout(layout);
        Color blue = colour(0x2f6db5);
        Color amber = colour(0xd99a00);
        Color red = colour(0xc0392b);
        Color green = colour(0x2e9e44);
        Color purple = colour(0x7e57c2);

        pages = chart("Pages sent per round", "round", "pages", UiIds.CHART_PAGES);
        ((GridData) pages.getLayoutData()).horizontalSpan = 2;
        // stacked bars need a category x axis
        pages.getAxisSet().getXAxis(0).enableCategory(true);
        pages.getAxisSet().getXAxis(0).setCategorySeries(new String[] { "" });
        IBarSeries<?> normal = (IBarSeries<?>) pages.getSeriesSet().createSeries(SeriesType.BAR, NORMAL);
        normal.setBarColor(blue);
        normal.setYSeries(new double[] { 0 }); // SWTChart stacks only series that already hold data
        normal.enableStack(true);
        IBarSeries<?> prot = (IBarSeries<?>) pages.getSeriesSet().createSeries(SeriesType.BAR, PROTECTED);
        prot.setBarColor(amber);
        prot.setYSeries(new double[] { 0 });
        prot.enableStack(true);
        ILineSeries<?> dirty = (ILineSeries<?>) pages.getSeriesSet().createSeries(SeriesType.LINE, DIRTY);
        dirty.setLineColor(red);
        dirty.setSymbolColor(red);
        dirty.setSymbolType(PlotSymbolType.CIRCLE);
        dirty.setSymbolSize(3);

        throughput = chart("Throughput", "round", "MiB/s", UiIds.CHART_THROUGHPUT);
        ILineSeries<?> tp = (ILineSeries<?>) throughput.getSeriesSet().createSeries(SeriesType.LINE, THROUGHPUT);
        tp.setLineColor(green);
        tp.setSymbolColor(green);
        tp.setSymbolType(PlotSymbolType.CIRCLE);
        tp.setSymbolSize(3);

        downtime = chart("Downtime", "round", "ms", UiIds.CHART_DOWNTIME);
        ILineSeries<?> est = (ILineSeries<?>) downtime.getSeriesSet().createSeries(SeriesType.LINE, ESTIMATED);
        est.setLineColor(purple);
        est.setSymbolColor(purple);
        est.setSymbolType(PlotSymbolType.CIRCLE);
        est.setSymbolSize(3);
        ILineSeries<?> meas = (ILineSeries<?>) downtime.getSeriesSet().createSeries(SeriesType.LINE, MEASURED);
        meas.setLineStyle(LineStyle.DASH);
        meas.setLineColor(red);
        meas.setSymbolType(PlotSymbolType.DIAMOND);
        meas.setSymbolColor(red);
        meas.setSymbolSize(5);
        show(null);
    }

    private Color colour(int rgb) {
        return new Color(getDisplay(), rgb >> 16 & 0xff, rgb >> 8 & 0xff, rgb & 0xff);
    }

    private Chart chart(String title, String x, String y, String id) {
        Chart c = UiIds.tag(new Chart(this, SWT.NONE), id);
        c.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        c.getTitle().setText(title);
        c.getAxisSet().getXAxis(0).getTitle().setText(x);
        c.getAxisSet().getYAxis(0).getTitle().setText(y);
        c.getLegend().setPosition(SWT.BOTTOM);
        return c;
    }

    /** Shows {@code run}'s rounds (null: empty charts). UI thread. */
    public void show(MigrationRun run) {
        List<RoundPoint> rounds = run == null ? List.of() : run.rounds();
        int n = rounds.size();
        this.rounds = n;
        double[] x = new double[n];
        String[] categories = new String[n];
        double[] normal = new double[n];
        double[] prot = new double[n];
        double[] dirty = new double[n];
        double[] tp = new double[n];
        double[] est = new double[n];
        for (int i = 0; i < n; i++) {
            RoundPoint p = rounds.get(i);
            x[i] = p.stats().round();
            categories[i] = p.stats().stopAndCopy() ? "S&C" : Integer.toString(p.stats().round());
            normal[i] = p.stats().pagesNormal() + p.stats().pagesZero();
            prot[i] = p.stats().pagesProtected();
            dirty[i] = p.stats().dirtyPagesLeft();
            tp[i] = p.throughputMiBps();
            est[i] = p.estimatedDowntimeMs();
        }
        pages.suspendUpdate(true);
        throughput.suspendUpdate(true);
        downtime.suspendUpdate(true);
        try {
            IAxis px = pages.getAxisSet().getXAxis(0);
            px.enableCategory(true);
            px.setCategorySeries(n == 0 ? new String[] { "" } : categories);
            // stacked bars keep one (zero) bar when there is nothing to show: SWTChart's stacking needs data
            pages.getSeriesSet().getSeries(NORMAL).setYSeries(n == 0 ? new double[] { 0 } : normal);
            pages.getSeriesSet().getSeries(PROTECTED).setYSeries(n == 0 ? new double[] { 0 } : prot);
            pages.getSeriesSet().getSeries(DIRTY).setYSeries(dirty);
            // with a few rounds, count them as the pages chart does (0, 1, …, S&C), not on a numeric axis that
            // ticks at fractions of a round; with many, a numeric axis ticks at whole rounds anyway and is cheaper
            boolean byRound = n > 0 && n <= 60;
            for (Chart c : List.of(throughput, downtime)) {
                IAxis cx = c.getAxisSet().getXAxis(0);
                if (byRound) {
                    cx.setCategorySeries(categories);
                }
                if (cx.isCategoryEnabled() != byRound) {
                    cx.enableCategory(byRound);
                }
            }
            series(throughput, THROUGHPUT).setXSeries(x);
            series(throughput, THROUGHPUT).setYSeries(tp);
            series(downtime, ESTIMATED).setXSeries(x);
            series(downtime, ESTIMATED).setYSeries(est);
            Double measured = run == null ? null : run.measuredDowntimeMs().orElse(null);
            ISeries<?> m = series(downtime, MEASURED);
            if (measured != null && n > 0) {
                // drawn across all rounds, so the estimates can be read against it
                double[] level = new double[n];
                java.util.Arrays.fill(level, measured);
                m.setXSeries(x);
                m.setYSeries(level);
            } else {
                m.setXSeries(new double[0]);
                m.setYSeries(new double[0]);
            }
            // short enough for the half-width chart; the exact value is in the banner above
            downtime.getTitle().setText(measured == null ? "Downtime" : String.format(measured < 10
                    ? "Downtime %.1f ms" : "Downtime %.0f ms", measured));
            // round markers help with a few rounds and only cost paint time with hundreds
            PlotSymbolType symbol = n > 60 ? PlotSymbolType.NONE : PlotSymbolType.CIRCLE;
            for (String id : List.of(DIRTY, THROUGHPUT, ESTIMATED)) {
                ILineSeries<?> l = (ILineSeries<?>) (id.equals(DIRTY) ? series(pages, id) : id.equals(THROUGHPUT)
                        ? series(throughput, id) : series(downtime, id));
                if (l.getSymbolType() != symbol) {
                    l.setSymbolType(symbol);
                }
            }
            for (Chart c : List.of(pages, throughput, downtime)) {
                c.getAxisSet().adjustRange();
                for (IAxis a : c.getAxisSet().getYAxes()) {
                    Range r = a.getRange();
                    a.setRange(n == 0 ? new Range(0, 1)
                            : new Range(Math.min(0, r.lower), r.upper <= 0 ? 1 : r.upper * 1.08));
                }
                if (n == 0 && c != pages) {
                    c.getAxisSet().getXAxis(0).setRange(new Range(0, 1)); // no data: an empty frame, not -1..1
                }
            }
        } finally {
            for (Chart c : List.of(pages, throughput, downtime)) {
                c.suspendUpdate(false);
                if (c == pages) {
                    // SWTChart turns stacking off whenever a series is set that holds a zero (a round without
                    // protected pages, the empty chart) and computes stacks only while updates run: turn it on again
                    // now, or normal and protected pages stand side by side instead of on one another
                    for (String id : List.of(NORMAL, PROTECTED)) {
                        pages.getSeriesSet().getSeries(id).enableStack(true);
                    }
                }
                // SWTChart paints titles and tick labels on the chart itself, not on its plot area, and resuming
                // only lays out: without a redraw of the whole chart they kept the previous run's values
                org.eclipse.swt.graphics.Point size = c.getSize();
                c.redraw(0, 0, size.x, size.y, true);
            }
        }
    }

    private static ISeries<?> series(Chart c, String id) {
        return c.getSeriesSet().getSeries(id);
    }

    /** The y values a chart series shows now (tests read what a person sees). */
    public double[] values(String seriesId) {
        for (Chart c : List.of(pages, throughput, downtime)) {
            ISeries<?> s = c.getSeriesSet().getSeries(seriesId);
            if (s != null) {
                return rounds == 0 ? new double[0] : s.getYSeries();
            }
        }
        throw new IllegalArgumentException("no series " + seriesId);
    }

    public List<Chart> charts() {
        return List.of(pages, throughput, downtime);
    }
}
