package org.sealift.console.core.monitor;

import java.util.List;
import java.util.Optional;

/**
 * Every migration the console knows of: running ones first (oldest first), then the finished history (newest
 * first). Immutable; versions grow with every change.
 */
public record MonitorSnapshot(long version, List<MigrationRun> runs) {

    public static final MonitorSnapshot EMPTY = new MonitorSnapshot(0, List.of());

    public MonitorSnapshot {
        runs = List.copyOf(runs);
    }

    public Optional<MigrationRun> run(String migrationId) {
        return runs.stream().filter(r -> r.migrationId().equals(migrationId)).findFirst();
    }

    public List<MigrationRun> active() {
        return runs.stream().filter(r -> !r.isFinished()).toList();
    }

    public List<MigrationRun> history() {
        return runs.stream().filter(MigrationRun::isFinished).toList();
    }
}
