package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

import org.eclipse.e4.core.di.annotations.Optional;
import org.eclipse.e4.core.services.events.IEventBroker;
import org.eclipse.e4.ui.di.Focus;
import org.eclipse.e4.ui.workbench.modeling.EPartService;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.StructuredSelection;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.layout.FillLayout;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.MonitorSnapshot;
import org.sealift.console.ui.monitor.MigrationCharts;
import org.sealift.console.ui.monitor.OutcomeBanner;
import org.sealift.console.ui.monitor.PhaseTimeline;
import org.sealift.console.ui.util.UiCoalescer;
import org.sealift.console.ui.util.UiIds;

/**
 * Running and past migrations on the left; for the selected one (the newest running one unless the person picked
 * another) the outcome banner, the phase timeline and the round charts. Snapshots from the core's monitor are
 * coalesced and applied at most ten times a second.
 */
public class MigrationMonitorPart {

    /** Event topic: open the Attestations part filtered to this migration id (String). */
    public static final String SHOW_ATTESTATION = "org/sealift/console/attestations/show";
    /** Part ids in Application.e4xmi. */
    public static final String ATTESTATIONS_PART = "org.sealift.console.part.attestations";

    @Inject
    MigrationMonitorService monitor;
    @Inject
    @Optional
    IEventBroker events;
    @Inject
    @Optional
    EPartService parts;

    private TableViewer runs;
    private OutcomeBanner banner;
    private PhaseTimeline timeline;
    private MigrationCharts charts;
    private MonitorSnapshot shown = MonitorSnapshot.EMPTY;
    private String pinned; // the run the person selected; null: follow the newest running one
    private Consumer<MonitorSnapshot> listener;
    private boolean updatingSelection;

    @PostConstruct
    public void createControls(Composite parent) {
        parent.setLayout(new FillLayout());
        SashForm sash = new SashForm(parent, SWT.HORIZONTAL);

        Composite left = new Composite(sash, SWT.NONE);
        TableColumnLayout tl = new TableColumnLayout();
        left.setLayout(tl);
        runs = new TableViewer(left, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION);
        UiIds.tag(runs.getTable(), UiIds.MONITOR_RUNS);
        runs.getTable().setHeaderVisible(true);
        runs.setContentProvider(ArrayContentProvider.getInstance());
        column(tl, "Migration", 55, r -> r.title());
        column(tl, "State", 45, MigrationMonitorPart::state);
        runs.addSelectionChangedListener(e -> {
            if (updatingSelection) {
                return;
            }
            Object r = ((IStructuredSelection) e.getSelection()).getFirstElement();
            pinned = r == null ? null : ((MigrationRun) r).migrationId();
            showSelected();
        });

        Composite right = new Composite(sash, SWT.NONE);
        GridLayout rl = new GridLayout(1, false);
        rl.marginWidth = 4;
        right.setLayout(rl);
        banner = new OutcomeBanner(right, id -> monitor.requestCancel(id), this::openAttestation);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(banner);
        timeline = UiIds.tag(new PhaseTimeline(right), UiIds.MONITOR_TIMELINE);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(timeline);
        charts = new MigrationCharts(right);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(charts);
        sash.setWeights(28, 72);

        UiCoalescer<MonitorSnapshot> coalescer = new UiCoalescer<>(runs.getControl(), 100, this::apply);
        listener = coalescer::post;
        monitor.addListener(listener);
    }

    private void column(TableColumnLayout layout, String title, int weight,
            java.util.function.Function<MigrationRun, String> text) {
        TableViewerColumn c = new TableViewerColumn(runs, SWT.NONE);
        c.getColumn().setText(title);
        layout.setColumnData(c.getColumn(), new ColumnWeightData(weight, 80));
        c.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> text.apply((MigrationRun) o)));
    }

    static String state(MigrationRun r) {
        if (!r.startError().isEmpty()) {
            return "not started";
        }
        if (!r.isFinished()) {
            return r.phase().toString().toLowerCase().replace('_', ' ') + ", round " + Math.max(0,
                    r.rounds().size() - 1);
        }
        return r.outcome().map(o -> o.toString().toLowerCase().replace('_', ' ')).orElse("finished")
                + r.measuredDowntimeMs().map(d -> String.format(", %.0f ms", d)).orElse("");
    }

    /** Applies one monitor snapshot (UI thread). */
    public void apply(MonitorSnapshot s) {
        if (s.version() < shown.version()) {
            return;
        }
        shown = s;
        updatingSelection = true;
        try {
            runs.setInput(s.runs()); // a handful of rows: replacing them is cheaper than matching them
            selected().ifPresent(r -> runs.setSelection(new StructuredSelection(r), false));
        } finally {
            updatingSelection = false;
        }
        showSelected();
    }

    private java.util.Optional<MigrationRun> selected() {
        if (pinned != null) {
            java.util.Optional<MigrationRun> r = shown.run(pinned);
            if (r.isPresent()) {
                return r;
            }
        }
        java.util.List<MigrationRun> active = shown.active();
        if (!active.isEmpty()) {
            return java.util.Optional.of(active.get(active.size() - 1));
        }
        return shown.history().stream().findFirst();
    }

    private void showSelected() {
        MigrationRun r = selected().orElse(null);
        int before = banner.getSize().y;
        banner.show(r);
        long now = r == null ? 0 : r.finished() != null ? 0 : Duration.between(r.started(), Instant.now()).toMillis();
        timeline.show(r, now);
        charts.show(r);
        if (banner.computeSize(banner.getSize().x, SWT.DEFAULT).y != before) {
            banner.getParent().layout(true); // only when the banner's height changed: a relayout resizes the charts
        }
    }

    private void openAttestation(String migrationId) {
        if (parts != null) {
            parts.showPart(ATTESTATIONS_PART, EPartService.PartState.ACTIVATE);
        }
        if (events != null) {
            events.send(SHOW_ATTESTATION, migrationId);
        }
    }

    /** For tests and benchmarks: the widgets a person looks at. */
    public MigrationCharts charts() {
        return charts;
    }

    public OutcomeBanner banner() {
        return banner;
    }

    public PhaseTimeline timeline() {
        return timeline;
    }

    @Focus
    public void setFocus() {
        runs.getControl().setFocus();
    }

    @PreDestroy
    public void dispose() {
        if (listener != null) {
            monitor.removeListener(listener);
        }
    }
}
