package org.sealift.console.ui.wizard;

import java.lang.reflect.InvocationTargetException;
import java.util.List;

import org.eclipse.core.runtime.OperationCanceledException;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.jface.wizard.WizardPage;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Composite;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.migration.Preflight;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.ConsoleImages.Badge;
import org.sealift.console.ui.util.ConsoleImages.Base;
import org.sealift.console.ui.util.UiIds;

/**
 * Runs the pre-flight checks through the wizard's container (progress bar, Cancel) as soon as the page is shown,
 * and lists each with its verdict. The page is complete only when none failed.
 */
final class PreflightPage extends WizardPage {

    private final MigrationWizardModel model;
    private TableViewer checks;
    private ConsoleImages images;

    PreflightPage(MigrationWizardModel model) {
        super("preflight");
        this.model = model;
        setTitle("Pre-flight checks");
        setDescription("The console's checks, then the agents' dry run.");
        setPageComplete(false);
    }

    @Override
    public void createControl(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        Composite c = new Composite(parent, SWT.NONE);
        c.setLayout(new GridLayout(1, false));
        Composite tableBox = new Composite(c, SWT.NONE);
        TableColumnLayout layout = new TableColumnLayout();
        tableBox.setLayout(layout);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(tableBox);
        checks = new TableViewer(tableBox, SWT.BORDER | SWT.FULL_SELECTION);
        UiIds.tag(checks.getTable(), UiIds.WIZARD_CHECKS);
        checks.getTable().setHeaderVisible(true);
        checks.setContentProvider(ArrayContentProvider.getInstance());
        TableViewerColumn name = new TableViewerColumn(checks, SWT.NONE);
        name.getColumn().setText("Check");
        layout.setColumnData(name.getColumn(), new ColumnWeightData(28, 130));
        name.setLabelProvider(new ColumnLabelProvider() {
            @Override
            public String getText(Object e) {
                return ((CheckResult) e).name();
            }

            @Override
            public Image getImage(Object e) {
                return switch (((CheckResult) e).verdict()) {
                    case PASS -> images.get(Base.BLANK, Badge.PASS);
                    case WARN -> images.get(Base.BLANK, Badge.PAUSED);
                    case FAIL -> images.get(Base.BLANK, Badge.FAIL);
                };
            }
        });
        TableViewerColumn result = new TableViewerColumn(checks, SWT.NONE);
        result.getColumn().setText("Result");
        layout.setColumnData(result.getColumn(), new ColumnWeightData(72, 250));
        result.setLabelProvider(new ColumnLabelProvider() {
            @Override
            public String getText(Object e) {
                CheckResult r = (CheckResult) e;
                return r.verdict() + ": " + r.message();
            }

            @Override
            public String getToolTipText(Object e) {
                return ((CheckResult) e).message();
            }
        });
        Button again = new Button(c, SWT.PUSH);
        again.setText("Run the checks again");
        again.addListener(SWT.Selection, e -> runChecks());
        c.addDisposeListener(e -> images.dispose());
        setControl(c);
    }

    @Override
    public void setVisible(boolean visible) {
        super.setVisible(visible);
        if (visible && !model.request().equals(model.checked)) {
            // after the page is shown, so the person sees what is being checked
            getShell().getDisplay().asyncExec(() -> {
                if (!getControl().isDisposed() && isCurrentPage()) {
                    runChecks();
                }
            });
        }
    }

    private void runChecks() {
        MigrationRequest request = model.request();
        InventorySnapshot inventory = model.inventory();
        List<List<CheckResult>> out = new java.util.ArrayList<>(List.of(List.of()));
        setErrorMessage(null);
        setMessage("Checking\u2026");
        try {
            getContainer().run(true, true, monitor -> {
                try {
                    out.set(0, Preflight.run(request, inventory, model.compatibility, model.service, monitor));
                } catch (OperationCanceledException e) {
                    throw new InterruptedException(e.getMessage());
                }
            });
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            setErrorMessage("the checks could not run: " + cause + "; this is a console bug, please report it");
            setPageComplete(false);
            return;
        } catch (InterruptedException e) {
            setErrorMessage("checks cancelled: run them again before finishing");
            setPageComplete(false);
            return;
        }
        List<CheckResult> results = out.get(0);
        model.checks = results;
        model.checked = request;
        checks.setInput(results);
        CheckResult fail = results.stream().filter(r -> r.verdict() == CheckResult.Verdict.FAIL).findFirst()
                .orElse(null);
        CheckResult warn = results.stream().filter(r -> r.verdict() == CheckResult.Verdict.WARN).findFirst()
                .orElse(null);
        if (fail != null) {
            setErrorMessage(fail.message());
        } else if (warn != null) {
            setMessage("All checks passed, with a warning: " + warn.message(), WARNING);
        } else {
            setMessage("All checks passed.");
        }
        setPageComplete(model.checksPassed());
    }
}
