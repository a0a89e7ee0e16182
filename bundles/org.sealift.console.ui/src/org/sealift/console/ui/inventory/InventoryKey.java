package org.sealift.console.ui.inventory;

/**
 * What the inventory tree holds: stable keys, not the (immutable, replaced on every change) nodes. The tree keeps
 * its items, expansion and selection across snapshots because a key stays equal while its node changes.
 */
public sealed interface InventoryKey {

    /** The host this key belongs to. */
    String hostId();

    record Host(String hostId) implements InventoryKey {
    }

    record Vm(String hostId, String vmId) implements InventoryKey {
    }

    record Process(String hostId, String vmId, int pid) implements InventoryKey {
    }

    /** The "Loading…" row under a node whose children have not arrived yet. */
    record Loading(InventoryKey parent) implements InventoryKey {
        @Override
        public String hostId() {
            return parent.hostId();
        }
    }
}
