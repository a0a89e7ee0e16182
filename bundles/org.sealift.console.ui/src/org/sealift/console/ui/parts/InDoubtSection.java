package org.sealift.console.ui.parts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.jobs.Job;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Label;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.migration.InDoubtMigration;
import org.sealift.console.core.migration.InDoubtService;

/**
 * The Preferences' list of in-doubt migrations across the agents, with the hand-carried resolution: export the token
 * this end can give (RELEASE from a source, DONE from a destination) to a file, or import the peer's token file
 * here. Thin: the agent calls run in jobs through the {@link InDoubtService}.
 */
final class InDoubtSection {

    private final InDoubtService service;
    private final TableViewer table;
    private final Label message;

    InDoubtSection(Composite parent, InDoubtService service) {
        this.service = service;
        parent.setLayout(new GridLayout(1, false));
        Composite box = new Composite(parent, SWT.NONE);
        TableColumnLayout layout = new TableColumnLayout();
        box.setLayout(layout);
        GridDataFactory.fillDefaults().grab(true, false).hint(SWT.DEFAULT, 100).applyTo(box);
        table = new TableViewer(box, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION);
        table.getTable().setHeaderVisible(true);
        table.setContentProvider(ArrayContentProvider.getInstance());
        column(layout, "Host", 8, InDoubtMigration::hostId);
        column(layout, "Migration", 14, m -> m.migrationId().substring(0, Math.min(12, m.migrationId().length())));
        column(layout, "Role", 9, InDoubtMigration::role);
        column(layout, "VM", 10, InDoubtMigration::vm);
        column(layout, "Peer", 7, InDoubtMigration::peer);
        column(layout, "State", 9, InDoubtMigration::state);
        column(layout, "What to do", 43, InDoubtMigration::detail);
        Composite bar = new Composite(parent, SWT.NONE);
        bar.setLayout(new GridLayout(3, false));
        button(bar, "Refresh", this::refresh);
        button(bar, "Export token\u2026", this::export);
        button(bar, "Import token\u2026", this::importToken);
        message = new Label(parent, SWT.WRAP);
        GridDataFactory.fillDefaults().grab(true, false).hint(400, SWT.DEFAULT).applyTo(message);
        if (service == null) {
            table.getTable().setEnabled(false);
            for (var b : bar.getChildren()) {
                b.setEnabled(false);
            }
            message.setText("The console's agent client is not installed: list and resolve in-doubt migrations"
                    + " with 'sealift in-doubt'.");
        } else {
            refresh();
        }
    }

    private void column(TableColumnLayout layout, String title, int weight,
            java.util.function.Function<InDoubtMigration, String> text) {
        TableViewerColumn c = new TableViewerColumn(table, SWT.NONE);
        c.getColumn().setText(title);
        layout.setColumnData(c.getColumn(), new ColumnWeightData(weight, 50));
        c.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> text.apply((InDoubtMigration) o)));
    }

    private static void button(Composite parent, String text, Runnable action) {
        Button b = new Button(parent, SWT.PUSH);
        b.setText(text);
        b.addListener(SWT.Selection, e -> action.run());
    }

    private void say(String text) {
        if (!message.isDisposed()) {
            message.setText(text);
            message.getParent().layout(true, true);
        }
    }

    /** Runs {@code work} in a job and shows its sentence on the UI thread. */
    private void background(String name, java.util.concurrent.Callable<String> work, boolean refreshAfter) {
        say(name + "\u2026");
        Job job = new Job(name) {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                String text;
                try {
                    text = work.call();
                } catch (Exception e) {
                    text = e.getMessage();
                }
                String shown = text;
                if (!table.getControl().isDisposed()) {
                    table.getControl().getDisplay().asyncExec(() -> {
                        say(shown);
                        if (refreshAfter) {
                            refresh();
                        }
                    });
                }
                return Status.OK_STATUS;
            }
        };
        job.setUser(true);
        job.schedule();
    }

    private void refresh() {
        Job job = new Job("Listing in-doubt migrations") {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                InDoubtService.Listing l = service.list();
                if (!table.getControl().isDisposed()) {
                    table.getControl().getDisplay().asyncExec(() -> {
                        if (!table.getControl().isDisposed()) {
                            table.setInput(l.migrations());
                            say((l.migrations().isEmpty() ? "No migration is in doubt." : l.migrations().size()
                                    + " in doubt: select one to export its token or import the peer's.")
                                    + (l.problems().isEmpty() ? "" : " " + String.join(" ", l.problems())));
                        }
                    });
                }
                return Status.OK_STATUS;
            }
        };
        job.setSystem(true);
        job.schedule();
    }

    private InDoubtMigration selected() {
        Object o = ((IStructuredSelection) table.getSelection()).getFirstElement();
        if (o == null) {
            say("Select an in-doubt migration first.");
        }
        return (InDoubtMigration) o;
    }

    private void export() {
        InDoubtMigration m = selected();
        if (m == null) {
            return;
        }
        InDoubtService.TokenKind kind = m.exportKind();
        FileDialog d = new FileDialog(table.getControl().getShell(), SWT.SAVE);
        d.setText("Save the " + kind + " token of migration " + m.migrationId());
        d.setFileName(kind.name().toLowerCase() + "-" + m.migrationId().substring(0, 8) + ".token");
        String file = d.open();
        if (file == null) {
            return;
        }
        background("Exporting the " + kind + " token from host " + m.hostId(), () -> {
            String text = service.exportToken(m.hostId(), m.migrationId(), kind);
            Files.writeString(Path.of(file), text, StandardCharsets.UTF_8);
            return "Saved the " + kind + " token of migration " + m.migrationId() + " from host " + m.hostId()
                    + " to " + file + ": import it at host " + m.peer() + ".";
        }, false);
    }

    private void importToken() {
        InDoubtMigration m = selected();
        if (m == null) {
            return;
        }
        FileDialog d = new FileDialog(table.getControl().getShell(), SWT.OPEN);
        d.setText("Import the peer's token for migration " + m.migrationId() + " at host " + m.hostId());
        String file = d.open();
        if (file == null) {
            return;
        }
        background("Importing a token at host " + m.hostId(), () -> {
            String text;
            try {
                text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "cannot read " + file + ": " + e.getMessage();
            }
            try {
                InDoubtMigration after = service.importToken(m.hostId(), m.migrationId(), text);
                return "Host " + m.hostId() + " applied the token: migration " + after.migrationId() + " is "
                        + after.state() + (after.detail().isEmpty() ? "." : "; " + after.detail());
            } catch (AgentException e) {
                return e.getMessage();
            }
        }, true);
    }

    /** For tests. */
    List<?> shown() {
        Object in = table.getInput();
        return in instanceof List<?> l ? l : List.of();
    }
}
