package org.sealift.console.ui.monitor;

import java.util.function.Consumer;

import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Link;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.RoundPoint;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationSummary;

/**
 * A coloured line that says how the selected migration stands or ended, in words: running (which round, pages
 * left), committed (downtime, rounds, bytes), aborted or rejected (the reason), not started (why); what a cancel
 * request got; anomalies; and the link to its attestation record. The Cancel button lives here.
 */
public final class OutcomeBanner extends Composite {

    private final Label headline;
    private final Label details;
    private final Link attestation;
    private final Button cancel;
    private final Color running;
    private final Color committed;
    private final Color failed;
    private final Color neutral;
    private MigrationRun shown;

    public OutcomeBanner(Composite parent, Consumer<String> onCancel, Consumer<String> onAttestation) {
        super(parent, SWT.NONE);
        running = new Color(getDisplay(), 0xdd, 0xe9, 0xfb);
        committed = new Color(getDisplay(), 0xdc, 0xf3, 0xe1);
        failed = new Color(getDisplay(), 0xfb, 0xe0, 0xdd);
        neutral = new Color(getDisplay(), 0xee, 0xf0, 0xf3);
        UiIds.tag(this, UiIds.MONITOR_BANNER);
        setLayout(new GridLayout(2, false));
        headline = new Label(this, SWT.WRAP);
        headline.setFont(org.eclipse.jface.resource.JFaceResources.getBannerFont());
        GridDataFactory.fillDefaults().grab(true, false).applyTo(headline);
        cancel = UiIds.tag(new Button(this, SWT.PUSH), UiIds.MONITOR_CANCEL);
        cancel.setText("Cancel migration");
        cancel.setToolTipText("Sends ABORT through the source agent; possible until the source has issued RELEASE");
        GridDataFactory.fillDefaults().span(1, 2).align(SWT.END, SWT.CENTER).applyTo(cancel);
        cancel.addListener(SWT.Selection, e -> {
            if (shown != null) {
                onCancel.accept(shown.migrationId());
            }
        });
        details = new Label(this, SWT.WRAP);
        GridDataFactory.fillDefaults().grab(true, false).hint(300, SWT.DEFAULT).applyTo(details);
        attestation = UiIds.tag(new Link(this, SWT.NONE), UiIds.MONITOR_LINK);
        GridDataFactory.fillDefaults().span(2, 1).applyTo(attestation);
        attestation.addListener(SWT.Selection, e -> {
            if (shown != null) {
                onAttestation.accept(shown.migrationId());
            }
        });
        show(null);
    }

    public void show(MigrationRun run) {
        shown = run;
        String head;
        StringBuilder more = new StringBuilder();
        Color bg;
        if (run == null) {
            head = "No migration selected.";
            more.append("Drag a VM onto a host in the Inventory to start one; running and past migrations are listed"
                    + " on the left.");
            bg = neutral;
        } else if (!run.startError().isEmpty()) {
            head = "Not started: " + run.title();
            more.append(run.startError());
            bg = failed;
        } else if (!run.isFinished()) {
            RoundPoint last = run.rounds().isEmpty() ? null : run.rounds().get(run.rounds().size() - 1);
            head = "Running: " + run.title() + " \u2014 " + run.phase().toString().toLowerCase().replace('_', ' ');
            if (last != null) {
                more.append("Round ").append(last.stats().round()).append(": ")
                        .append(last.stats().dirtyPagesLeft()).append(" dirty pages left, ")
                        .append(String.format("%.0f MiB/s", last.throughputMiBps()))
                        .append(String.format(", estimated downtime %.1f ms", last.estimatedDowntimeMs()));
            } else {
                more.append("Handshake and attestation between the hypervisors\u2026");
            }
            bg = running;
        } else {
            MigrationSummary s = run.summary();
            MigrationOutcome o = s.outcome();
            bg = o == MigrationOutcome.COMMITTED ? committed : failed;
            head = switch (o) {
                case COMMITTED -> "Committed: " + run.title() + ". The VM runs on "
                        + (run.request() == null ? "the destination" : run.request().destinationHostId()) + ".";
                case ABORTED_BY_SOURCE -> "Aborted by the source: " + run.title() + ". The VM stays on "
                        + (run.request() == null ? "the source" : run.request().sourceHostId()) + ".";
                case ABORTED_BY_DESTINATION -> "Aborted by the destination: " + run.title() + ".";
                case REJECTED -> "Rejected: " + run.title() + ". Nothing was transferred.";
            };
            // an aborted migration that paused the VM reports that pause; one the agents measured none for (the
            // source never resumed it itself, e.g. after a destination crash) gets no made-up "0.0 ms"
            more.append(o == MigrationOutcome.COMMITTED || s.downtimeNanos() > 0 ? String.format("Downtime %.1f ms, ",
                    s.downtimeNanos() / 1e6) : "").append(String.format("%d rounds, %.1f MiB sent, %.1f s in total.", s.rounds().size(),
                            s.bytes() / 1048576.0, s.totalNanos() / 1e9));
            if (o != MigrationOutcome.COMMITTED) {
                more.append(" Reason: ").append(s.reason());
            }
        }
        if (run != null && run.cancel() != CancelState.NONE) {
            more.append(switch (run.cancel()) {
                case REQUESTED -> "\nCancel requested: " + run.cancelMessage();
                case ABORT_SENT -> "\nCancelled: " + run.cancelMessage();
                case REFUSED -> "\nCancel refused: " + run.cancelMessage();
                case NONE -> "";
            });
        }
        if (run != null && !run.anomalies().isEmpty()) {
            more.append("\nAnomalies seen and handled: ").append(String.join("; ", distinct(run.anomalies())));
        }
        boolean changed = !head.equals(headline.getText()) || !more.toString().equals(details.getText());
        headline.setText(head);
        details.setText(more.toString());
        boolean recorded = run != null && run.isFinished() && run.startError().isEmpty();
        attestation.setText(recorded ? "<a>Attestation record m=" + run.shortId() + "</a> (open it in the"
                + " Attestations part to verify it)" : "");
        cancel.setEnabled(run != null && !run.isFinished() && run.cancel() == CancelState.NONE);
        if (getBackground() == null || !getBackground().equals(bg)) {
            setBackground(bg);
            for (org.eclipse.swt.widgets.Control c : getChildren()) {
                if (!(c instanceof Button)) {
                    c.setBackground(bg);
                }
            }
        }
        if (changed) {
            layout(true);
        }
    }

    /** The banner's text as a person reads it (tests). */
    public String text() {
        return headline.getText() + "\n" + details.getText();
    }

    /**
     * Each anomaly once: the event stream reports one as "KIND: detail" and the summary again as "detail"; the first
     * form seen is kept.
     */
    public static java.util.List<String> distinct(java.util.Collection<String> anomalies) {
        java.util.Map<String, String> once = new java.util.LinkedHashMap<>();
        for (String a : anomalies) {
            once.putIfAbsent(a.replaceFirst("^[A-Z_]+: ", ""), a);
        }
        return java.util.List.copyOf(once.values());
    }
}
