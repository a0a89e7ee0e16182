package org.sealift.agent.spi;

/**
 * A plain-mode migration (the unmodified pre-copy baseline) of a VM without protected processes: the hypervisor
 * only takes the per-VM migration lock; the agent moves memory and vCPU contexts itself.
 */
public interface PlainMigration {

    MigrationId id();

    int domId();

    /**
     * Ends the migration and releases the lock. {@code committed}: the VM runs at the destination, the local domain
     * is marked MIGRATED_AWAY (destroy it); otherwise the VM stays here and may resume.
     */
    void finish(boolean committed) throws HypervisorException;
}
