package org.sealift.console.ui.wizard;

import jakarta.inject.Inject;

import org.eclipse.e4.core.contexts.IEclipseContext;
import org.eclipse.e4.core.di.annotations.Creatable;
import org.eclipse.jface.wizard.WizardDialog;
import org.eclipse.swt.widgets.Shell;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.settings.SettingsService;

/**
 * Opens the migration wizard for a VM, pre-filled with a destination (from a drop) or none (from the menu). Shared
 * by the inventory and details parts. The migration service is looked up when the wizard opens, because the agent
 * client may come and go as a dynamic OSGi service.
 */
@Creatable
public final class MigrationLauncher {

    private final InventoryService inventory;
    private final CompatibilityService compatibility;
    private final SettingsService settings;
    private final MigrationMonitorService monitor;
    private final IEclipseContext context;

    @Inject
    public MigrationLauncher(InventoryService inventory, CompatibilityService compatibility, SettingsService settings,
            MigrationMonitorService monitor, IEclipseContext context) {
        this.inventory = inventory;
        this.compatibility = compatibility;
        this.settings = settings;
        this.monitor = monitor;
        this.context = context;
    }

    /**
     * Opens the wizard (modal; returns when it is closed). Without a destination (the context menu), the first host
     * that can take the VM is pre-selected, if any.
     */
    public int open(Shell shell, VmNode vm, String destinationHostId) {
        if (destinationHostId == null) {
            destinationHostId = inventory.current().hosts().stream().map(h -> h.hostId())
                    .filter(h -> !h.equals(vm.hostId()))
                    .filter(h -> compatibility.check(inventory.current(), vm.hostId(), vm.vmId(), h,
                            settings.current().defaults().mode()).allowed())
                    .findFirst().orElse(null);
        }
        MigrationWizardModel model = new MigrationWizardModel(inventory, compatibility, monitor,
                context.get(MigrationService.class), vm, destinationHostId, settings.current().defaults());
        WizardDialog dialog = new WizardDialog(shell, new MigrationWizard(model));
        dialog.setPageSize(720, 360);
        return dialog.open();
    }
}
