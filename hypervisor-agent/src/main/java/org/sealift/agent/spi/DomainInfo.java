package org.sealift.agent.spi;

import java.util.Optional;

/**
 * Public facts about a domain: what dom0 may know. {@code migration} is the migration currently holding the
 * hypervisor's per-VM lock, if any.
 */
public record DomainInfo(int domId, DomainConfig config, DomainState state, boolean dirtyLogging,
        Optional<MigrationId> migration) {

    public DomainInfo {
        if (migration == null) {
            migration = Optional.empty();
        }
    }

    public String name() {
        return config.name();
    }

    public long pageCount() {
        return config.pageCount();
    }

    public boolean hasProtectedProcesses() {
        return config.hasProtectedProcesses();
    }
}
