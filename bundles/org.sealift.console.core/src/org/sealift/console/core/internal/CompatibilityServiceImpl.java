package org.sealift.console.core.internal;

import java.util.List;
import java.util.Optional;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.core.migration.CompatibilityRules;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.model.MigrationMode;

@Component(service = CompatibilityService.class)
public final class CompatibilityServiceImpl implements CompatibilityService {

    private TrustMaterialService trust;

    /** For DS. */
    public CompatibilityServiceImpl() {
    }

    public CompatibilityServiceImpl(TrustMaterialService trust) {
        this.trust = trust;
    }

    @Reference
    void bindTrust(TrustMaterialService t) {
        trust = t;
    }

    @Override
    public Compatibility check(InventorySnapshot inventory, String vmHostId, String vmId, String destinationHostId,
            MigrationMode mode) {
        Optional<HostNode> source = inventory.host(vmHostId);
        Optional<HostNode> destination = inventory.host(destinationHostId);
        Optional<VmNode> vm = inventory.vm(vmHostId, vmId);
        if (source.isEmpty() || vm.isEmpty()) {
            return refuse("VM " + vmId + " is no longer listed on host " + vmHostId + ": refresh the inventory");
        }
        if (destination.isEmpty()) {
            return refuse("host " + destinationHostId + " is no longer in the inventory: refresh it");
        }
        return CompatibilityRules.check(vm.get(), source.get(), destination.get(), trust.policy().orElse(null), mode);
    }

    private static Compatibility refuse(String why) {
        return new Compatibility(List.of(why), List.of());
    }
}
