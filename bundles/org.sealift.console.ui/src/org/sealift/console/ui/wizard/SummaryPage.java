package org.sealift.console.ui.wizard;

import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.wizard.WizardPage;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Text;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.ui.util.UiIds;

/** What Finish will do, in words. */
final class SummaryPage extends WizardPage {

    private final MigrationWizardModel model;
    private Text summary;

    SummaryPage(MigrationWizardModel model) {
        super("summary");
        this.model = model;
        setTitle("Summary");
        setDescription("Finish starts the migration.");
        setPageComplete(false);
    }

    @Override
    public void createControl(Composite parent) {
        Composite c = new Composite(parent, SWT.NONE);
        c.setLayout(new GridLayout(1, false));
        summary = UiIds.tag(new Text(c, SWT.MULTI | SWT.READ_ONLY | SWT.WRAP | SWT.V_SCROLL), UiIds.WIZARD_SUMMARY);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(summary);
        setControl(c);
    }

    @Override
    public void setVisible(boolean visible) {
        if (visible) {
            MigrationRequest r = model.request();
            long warnings = model.checks == null ? 0
                    : model.checks.stream().filter(x -> x.verdict() == CheckResult.Verdict.WARN).count();
            summary.setText("VM:            " + r.vmName() + " (" + r.vmId() + ")\n"
                    + "From host:     " + r.sourceHostId() + "\n"
                    + "To host:       " + r.destinationHostId() + "\n"
                    + "Options:       " + ConsoleSettings.describe(r.options()) + "\n"
                    + "Checks:        " + (model.checks == null ? 0 : model.checks.size()) + " run, "
                    + (model.checksPassed() ? "none failed" : "some failed") + (warnings == 0 ? ""
                            : ", " + warnings + " warning" + (warnings == 1 ? "" : "s")) + "\n\n"
                    + "Finish asks host " + r.sourceHostId() + "'s agent to start. Watch the rounds and the"
                    + " downtime in the Migration Monitor; its Cancel button sends ABORT until the source has"
                    + " issued RELEASE. After RELEASE the destination owns the VM and the migration can no longer be"
                    + " cancelled.");
            if (model.service == null) {
                setErrorMessage("the console's agent client is not installed, so it cannot start migrations yet;"
                        + " start this one on the source host with 'sealift migrate'");
            } else {
                setErrorMessage(model.checksPassed() ? null : "the pre-flight checks did not pass for these"
                        + " settings: go back and run them again");
            }
            setPageComplete(model.checksPassed() && model.service != null);
        }
        super.setVisible(visible);
    }
}
