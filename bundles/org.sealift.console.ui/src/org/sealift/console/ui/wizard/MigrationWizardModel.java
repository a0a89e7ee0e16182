package org.sealift.console.ui.wizard;

import java.util.List;

import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.migration.Preflight;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.model.MigrationOptions;

/** What the wizard's pages edit together: the request being built and the last pre-flight result. UI thread. */
public final class MigrationWizardModel {

    final InventoryService inventory;
    final CompatibilityService compatibility;
    final MigrationMonitorService monitor;
    final MigrationService service; // null: no agent client installed
    final VmNode vm;
    String destination;
    MigrationOptions options;
    List<CheckResult> checks;
    MigrationRequest checked; // the request the checks were run for

    MigrationWizardModel(InventoryService inventory, CompatibilityService compatibility,
            MigrationMonitorService monitor, MigrationService service, VmNode vm, String destination,
            MigrationOptions options) {
        this.inventory = inventory;
        this.compatibility = compatibility;
        this.monitor = monitor;
        this.service = service;
        this.vm = vm;
        this.destination = destination;
        this.options = options;
    }

    InventorySnapshot inventory() {
        return inventory.current();
    }

    MigrationRequest request() {
        return new MigrationRequest(vm.vmId(), vm.name(), vm.hostId(), destination, options);
    }

    Compatibility compatibility(String hostId) {
        return compatibility.check(inventory(), vm.hostId(), vm.vmId(), hostId, options.mode());
    }

    /** The pre-flight checks passed for exactly the request as it is now. */
    boolean checksPassed() {
        return checks != null && destination != null && request().equals(checked) && Preflight.passed(checks);
    }

    public String destination() {
        return destination;
    }

    public MigrationOptions options() {
        return options;
    }
}
