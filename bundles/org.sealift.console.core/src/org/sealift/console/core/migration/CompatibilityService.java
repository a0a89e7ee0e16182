package org.sealift.console.core.migration;

import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.model.MigrationMode;

/**
 * {@link CompatibilityRules} with the cluster policy from the settings, looked up in a snapshot. Cheap enough to
 * call on every drag-over event.
 */
public interface CompatibilityService {

    Compatibility check(InventorySnapshot inventory, String vmHostId, String vmId, String destinationHostId,
            MigrationMode mode);
}
