package org.sealift.console.core.monitor;

import java.util.function.Consumer;

import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.model.MigrationEvent;

/**
 * Turns the event streams of running migrations into immutable {@link MonitorSnapshot}s for the charts, and keeps a
 * bounded history of finished ones. Thread-safe; listeners run on the thread that delivered the event and must
 * return quickly (a UI coalesces and applies on its own thread).
 */
public interface MigrationMonitorService {

    MonitorSnapshot current();

    /** Adds a listener and calls it once with the current snapshot. */
    void addListener(Consumer<MonitorSnapshot> listener);

    void removeListener(Consumer<MonitorSnapshot> listener);

    /** A migration the console started; {@code cancel} is what the monitor's Cancel button runs. */
    void register(String migrationId, MigrationRequest request, Runnable cancel);

    /** One event from an agent's stream (phases, rounds, anomalies, the end). */
    void accept(MigrationEvent event);

    /**
     * An event with the time its source saw it (a replay of a migration followed late, started elsewhere): the
     * timeline places it at that time, relative to the run's first timed event, not at its arrival.
     */
    default void accept(MigrationEvent event, java.time.Instant at) {
        accept(event);
    }

    /** The source agent refused to start the migration; kept in the history with the reason. */
    void startFailed(MigrationRequest request, String reason);

    /** The Cancel button: runs the registered cancel action and marks the run as cancel-requested. */
    void requestCancel(String migrationId);

    /** What the source agent answered to a cancel request. */
    void cancelAnswered(String migrationId, boolean abortSent, String message);
}
