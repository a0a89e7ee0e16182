package org.sealift.console.ui.wizard;

import org.eclipse.jface.wizard.Wizard;
import org.sealift.console.core.migration.MigrationJob;

/**
 * Destination → options → pre-flight → summary. Finish schedules a {@link MigrationJob} (the migration runs at the
 * agents; its progress shows in the Migration Monitor, and cancelling the job sends ABORT).
 */
public final class MigrationWizard extends Wizard {

    private final MigrationWizardModel model;

    public MigrationWizard(MigrationWizardModel model) {
        this.model = model;
        setWindowTitle("Migrate " + model.vm.name());
        setNeedsProgressMonitor(true);
    }

    public MigrationWizardModel model() {
        return model;
    }

    @Override
    public void addPages() {
        addPage(new DestinationPage(model));
        addPage(new OptionsPage(model));
        addPage(new PreflightPage(model));
        addPage(new SummaryPage(model));
    }

    @Override
    public boolean canFinish() {
        return getContainer().getCurrentPage() instanceof SummaryPage && model.checksPassed()
                && model.service != null;
    }

    @Override
    public boolean performFinish() {
        if (!model.checksPassed() || model.service == null) {
            return false;
        }
        new MigrationJob(model.request(), model.service, model.monitor).schedule();
        return true;
    }
}
