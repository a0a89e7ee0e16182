package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.SubMonitor;
import org.eclipse.core.runtime.jobs.Job;
import org.eclipse.e4.core.di.annotations.Optional;
import org.eclipse.e4.ui.di.Focus;
import org.eclipse.e4.ui.di.UIEventTopic;
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
import org.eclipse.swt.custom.StyledText;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Text;
import org.sealift.console.core.attest.AttestationEntry;
import org.sealift.console.core.attest.AttestationFetchService;
import org.sealift.console.core.attest.AttestationFilter;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.attest.ImportResult;
import org.sealift.console.core.attest.Verdict;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.ConsoleImages.Badge;
import org.sealift.console.ui.util.ConsoleImages.Base;
import org.sealift.console.ui.util.UiCoalescer;
import org.sealift.console.ui.util.UiIds;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.Outcome;

/**
 * For security officers: every attestation record the console holds, filtered by VM, host, outcome, date and
 * migration; the selected record's fields; Verify (signatures, AK chain to the cluster CA, measurements, policy)
 * with the verifier's exact reasons; export of the selection (or everything shown) as JSON or a printable HTML
 * report.
 */
public class AttestationsPart {

    @Inject
    AttestationReviewService review;

    /** The agent client's log reader; absent in a console without it (records then come from files only). */
    @Inject
    @Optional
    AttestationFetchService fetcher;

    private final Map<String, Verdict> verdicts = new ConcurrentHashMap<>();
    private TableViewer table;
    private Text vm;
    private Text host;
    private Combo outcome;
    private Text from;
    private Text to;
    private Text migration;
    private Label message;
    private MessageLine verdict;
    private StyledText detail;
    private ConsoleImages images;
    private Consumer<List<AttestationEntry>> listener;

    @PostConstruct
    public void createControls(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        parent.setLayout(new GridLayout(1, false));

        Composite filters = new Composite(parent, SWT.NONE);
        filters.setLayout(new GridLayout(6, false));
        GridDataFactory.fillDefaults().grab(true, false).applyTo(filters);
        vm = filterText(filters, "VM:", 90, UiIds.ATTEST_FILTER_VM);
        host = filterText(filters, "Host:", 70, UiIds.ATTEST_FILTER_HOST);
        new Label(filters, SWT.NONE).setText("Outcome:");
        outcome = UiIds.tag(new Combo(filters, SWT.READ_ONLY), UiIds.ATTEST_FILTER_OUTCOME);
        outcome.add("any");
        for (Outcome o : Outcome.values()) {
            outcome.add(o.name());
        }
        outcome.select(0);
        outcome.addListener(SWT.Selection, e -> refilter());
        from = filterText(filters, "From:", 80, null);
        from.setMessage("yyyy-mm-dd");
        to = filterText(filters, "To:", 80, null);
        to.setMessage("yyyy-mm-dd");
        migration = filterText(filters, "Migration:", 80, null);

        Composite buttons = new Composite(parent, SWT.NONE);
        buttons.setLayout(new GridLayout(7, false));
        button(buttons, "Open records or logs\u2026", e -> open());
        Button verify = button(buttons, "Verify", e -> verify(selection()));
        UiIds.tag(verify, UiIds.ATTEST_VERIFY);
        button(buttons, "Verify all shown", e -> verify(shownEntries()));
        button(buttons, "Export JSON\u2026", e -> export(false));
        button(buttons, "Export HTML report\u2026", e -> export(true));
        Button fetch = button(buttons, "Fetch from agents", e -> fetchFromAgents());
        fetch.setEnabled(fetcher != null);
        fetch.setToolTipText(fetcher != null ? "Read the attestation logs of every connected agent"
                : "The console's agent client is not installed: open record files instead");
        message = UiIds.tag(new Label(parent, SWT.WRAP), UiIds.ATTEST_MESSAGE);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(message);

        SashForm sash = new SashForm(parent, SWT.VERTICAL);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(sash);
        Composite tableBox = new Composite(sash, SWT.NONE);
        TableColumnLayout layout = new TableColumnLayout();
        tableBox.setLayout(layout);
        table = new TableViewer(tableBox, SWT.BORDER | SWT.MULTI | SWT.FULL_SELECTION);
        UiIds.tag(table.getTable(), UiIds.ATTEST_TABLE);
        table.getTable().setHeaderVisible(true);
        table.getTable().setLinesVisible(true);
        table.setContentProvider(ArrayContentProvider.getInstance());
        column(layout, "Started (UTC)", 16, e -> e.started().toString().replace('T', ' ').replace("Z", ""));
        column(layout, "Migration", 12, AttestationEntry::label);
        column(layout, "VM", 16, AttestationEntry::vmId);
        column(layout, "Source", 8, AttestationEntry::sourceHost);
        column(layout, "Destination", 9, AttestationEntry::destinationHost);
        column(layout, "Outcome", 12, e -> e.outcome().name());
        column(layout, "Reason", 11, e -> e.record().reasonName());
        TableViewerColumn ver = new TableViewerColumn(table, SWT.NONE);
        ver.getColumn().setText("Verified");
        layout.setColumnData(ver.getColumn(), new ColumnWeightData(16, 70));
        ver.setLabelProvider(new ColumnLabelProvider() {
            @Override
            public String getText(Object o) {
                Verdict v = verdicts.get(((AttestationEntry) o).key());
                return v == null ? "not yet" : v.ok() ? "PASS" : "FAIL";
            }

            @Override
            public Image getImage(Object o) {
                Verdict v = verdicts.get(((AttestationEntry) o).key());
                return v == null ? null : images.get(Base.BLANK, v.ok() ? Badge.PASS : Badge.FAIL);
            }

            @Override
            public String getToolTipText(Object o) {
                Verdict v = verdicts.get(((AttestationEntry) o).key());
                return v == null ? null : String.join("\n", v.ok() ? List.of("verified " + v.checked())
                        : v.failures());
            }
        });
        table.addSelectionChangedListener(e -> showDetail());

        Composite bottom = new Composite(sash, SWT.NONE);
        bottom.setLayout(new GridLayout(1, false));
        verdict = UiIds.tag(new MessageLine(bottom), UiIds.ATTEST_VERDICT);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(verdict);
        detail = UiIds.tag(new StyledText(bottom, SWT.BORDER | SWT.READ_ONLY | SWT.V_SCROLL | SWT.H_SCROLL),
                UiIds.ATTEST_DETAIL);
        detail.setFont(org.eclipse.jface.resource.JFaceResources.getTextFont());
        GridDataFactory.fillDefaults().grab(true, true).applyTo(detail);
        sash.setWeights(55, 45);

        UiCoalescer<List<AttestationEntry>> coalescer = new UiCoalescer<>(table.getControl(), 100, l -> refilter());
        listener = coalescer::post;
        review.addListener(listener);
        refilter();
        if (fetcher != null) {
            fetchFromAgents(); // what the connected agents logged is shown without a click
        }
    }

    private Text filterText(Composite c, String label, int width, String id) {
        new Label(c, SWT.NONE).setText(label);
        Text t = new Text(c, SWT.BORDER | SWT.SEARCH);
        if (id != null) {
            UiIds.tag(t, id);
        }
        GridDataFactory.fillDefaults().hint(width, SWT.DEFAULT).applyTo(t);
        t.addModifyListener(e -> refilter());
        return t;
    }

    private static Button button(Composite c, String text, org.eclipse.swt.widgets.Listener l) {
        Button b = new Button(c, SWT.PUSH);
        b.setText(text);
        b.addListener(SWT.Selection, l);
        return b;
    }

    private void column(TableColumnLayout layout, String title, int weight, Function<AttestationEntry, String> f) {
        TableViewerColumn c = new TableViewerColumn(table, SWT.NONE);
        c.getColumn().setText(title);
        layout.setColumnData(c.getColumn(), new ColumnWeightData(weight, 60));
        c.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> f.apply((AttestationEntry) o)));
    }

    private void refilter() {
        AttestationFilter f;
        try {
            f = new AttestationFilter(vm.getText(), host.getText(), outcome.getSelectionIndex() <= 0 ? null
                    : Outcome.valueOf(outcome.getText()), date(from, "From"), date(to, "To"), migration.getText());
        } catch (IllegalArgumentException e) {
            message.setText(e.getMessage());
            return;
        }
        List<AttestationEntry> all = review.entries();
        List<AttestationEntry> shown = review.filter(f);
        table.setInput(shown);
        message.setText(all.isEmpty() ? "No attestation records yet. Open record files (.pem) or a host's"
                + " attestation log; records from connected agents will appear here once the agent client exists."
                : shown.size() + " of " + all.size() + " records shown.");
        message.getParent().layout(true);
    }

    private static LocalDate date(Text t, String what) {
        String s = t.getText().trim();
        if (s.isEmpty()) {
            return null;
        }
        try {
            return LocalDate.parse(s);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(what + " date '" + s + "' is not a date: use yyyy-mm-dd, e.g. 2026-03-01");
        }
    }

    @SuppressWarnings("unchecked")
    private List<AttestationEntry> selection() {
        return ((IStructuredSelection) table.getSelection()).toList();
    }

    @SuppressWarnings("unchecked")
    private List<AttestationEntry> shownEntries() {
        Object input = table.getInput();
        return input == null ? List.of() : (List<AttestationEntry>) input;
    }

    private void verify(List<AttestationEntry> entries) {
        if (entries.isEmpty()) {
            message.setText("Select a record to verify.");
            return;
        }
        verdict.set("Verifying " + entries.size() + (entries.size() == 1 ? " record\u2026" : " records\u2026"), null,
                null);
        List<AttestationEntry> todo = new ArrayList<>(entries);
        Job job = new Job("Verifying attestation records") {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                SubMonitor sub = SubMonitor.convert(monitor, todo.size());
                for (AttestationEntry e : todo) {
                    if (sub.isCanceled()) {
                        return Status.CANCEL_STATUS;
                    }
                    verdicts.put(e.key(), review.verify(e));
                    sub.worked(1);
                }
                table.getControl().getDisplay().asyncExec(() -> {
                    if (!table.getControl().isDisposed()) {
                        table.refresh();
                        showDetail();
                    }
                });
                return Status.OK_STATUS;
            }
        };
        job.setUser(true);
        job.schedule();
    }

    private void showDetail() {
        List<AttestationEntry> sel = selection();
        if (sel.isEmpty()) {
            verdict.set("Select a record to see its fields and verify it.", null, null);
            detail.setText("");
            return;
        }
        AttestationEntry e = sel.get(0);
        Verdict v = verdicts.get(e.key());
        if (v == null) {
            verdict.set("Record " + e.label() + " has not been verified yet: press Verify.", null, null);
        } else if (v.ok()) {
            verdict.set("PASS \u2014 " + v.subject() + ": signatures, AK certificates, measurements and policy verified ("
                    + v.checked() + ")", images.get(Base.BLANK, Badge.PASS),
                    verdict.getDisplay().getSystemColor(SWT.COLOR_DARK_GREEN));
        } else {
            verdict.set("FAIL \u2014 " + String.join("\n", v.failures()), images.get(Base.BLANK, Badge.FAIL),
                    verdict.getDisplay().getSystemColor(SWT.COLOR_DARK_RED));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("origin: ").append(e.origin());
        if (e.logHost() != null) {
            sb.append(" (log of host ").append(e.logHost()).append(", entry ").append(e.logIndex()).append(')');
        }
        sb.append('\n');
        int width = e.record().fields().keySet().stream().mapToInt(String::length).max().orElse(10);
        e.record().fields().forEach((k, val) -> sb.append(String.format("%-" + width + "s  %s%n", k,
                val.isEmpty() ? "\u2014" : val)));
        sb.append(String.format("%-" + width + "s  %s%s%n", "signatures",
                e.signed().hasSignature(Side.SOURCE) ? "source " : "", e.signed().hasSignature(Side.DESTINATION)
                        ? "destination" : ""));
        if (v != null && !v.notes().isEmpty()) {
            sb.append("\nnotes:\n  ").append(String.join("\n  ", v.notes())).append('\n');
        }
        detail.setText(sb.toString());
    }

    /** Reads every agent's attestation log in a job; the table follows through the review service's listener. */
    private void fetchFromAgents() {
        AttestationFetchService f = fetcher;
        if (f == null) {
            return;
        }
        message.setText("Reading the agents' attestation logs\u2026");
        Job job = new Job("Reading the agents' attestation logs") {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                ImportResult r = f.fetchAll(monitor);
                table.getControl().getDisplay().asyncExec(() -> {
                    if (!table.getControl().isDisposed()) {
                        refilter();
                        message.setText(r.added() + " new record" + (r.added() == 1 ? "" : "s") + " from the agents"
                                + (r.problems().isEmpty() ? "." : "; " + String.join("; ", r.problems())));
                    }
                });
                return Status.OK_STATUS;
            }
        };
        job.setUser(true);
        job.schedule();
    }

    private void open() {
        FileDialog d = new FileDialog(table.getControl().getShell(), SWT.OPEN | SWT.MULTI);
        d.setText("Open attestation records or logs");
        d.setFilterExtensions(new String[] { "*.pem;*.log;*", "*" });
        if (d.open() == null) {
            return;
        }
        int added = 0;
        List<String> problems = new ArrayList<>();
        for (String name : d.getFileNames()) {
            ImportResult r = review.importFile(Path.of(d.getFilterPath(), name));
            added += r.added();
            problems.addAll(r.problems());
        }
        refilter();
        message.setText(added + " record" + (added == 1 ? "" : "s") + " added" + (problems.isEmpty() ? "."
                : "; problems: " + String.join("; ", problems)));
    }

    private void export(boolean html) {
        List<AttestationEntry> which = selection().isEmpty() ? shownEntries() : selection();
        if (which.isEmpty()) {
            message.setText("Nothing to export: no records are shown.");
            return;
        }
        FileDialog d = new FileDialog(table.getControl().getShell(), SWT.SAVE);
        d.setOverwrite(true);
        d.setText(html ? "Export an HTML report" : "Export records as JSON");
        d.setFileName(html ? "attestation-report.html" : "attestation-records.json");
        String file = d.open();
        if (file == null) {
            return;
        }
        try {
            if (html) {
                review.exportHtml(which, verdicts, Path.of(file));
            } else {
                review.exportJson(which, verdicts, Path.of(file));
            }
            message.setText("Exported " + which.size() + " record" + (which.size() == 1 ? "" : "s") + " to " + file
                    + (verdicts.keySet().containsAll(which.stream().map(AttestationEntry::key).toList()) ? ""
                            : " (records not verified yet are marked so)"));
        } catch (java.io.IOException e) {
            message.setText("Could not write " + file + ": " + e.getMessage());
        }
    }

    /** The Migration Monitor's attestation link: show that migration's record. */
    @Inject
    @Optional
    public void showMigration(@UIEventTopic(MigrationMonitorPart.SHOW_ATTESTATION) String migrationId) {
        if (migration == null || migration.isDisposed() || migrationId == null) {
            return;
        }
        migration.setText(migrationId);
        List<AttestationEntry> shown = shownEntries();
        if (shown.isEmpty()) {
            message.setText("No record of migration " + migrationId + " is held yet: open its record file or the"
                    + " hosts' attestation logs.");
        } else {
            table.setSelection(new StructuredSelection(shown.get(0)), true);
        }
    }

    /** Verdicts so far (tests). */
    public Map<String, Verdict> verdicts() {
        return verdicts;
    }

    @Focus
    public void setFocus() {
        table.getControl().setFocus();
    }

    @PreDestroy
    public void dispose() {
        if (listener != null) {
            review.removeListener(listener);
        }
        if (images != null) {
            images.dispose();
        }
    }
}
