package org.sealift.model;

/**
 * What the engine tells its listeners while a migration runs: immutable snapshots, safe to hand to another thread
 * (the console coalesces them on the UI thread).
 */
public sealed interface MigrationEvent {

    /** The migration this event belongs to. */
    String migrationId();

    /** The run entered a new phase. */
    record PhaseChanged(String migrationId, MigrationPhase phase) implements MigrationEvent {
    }

    /** A round ended (the stop-and-copy round included). */
    record RoundCompleted(String migrationId, RoundStats stats) implements MigrationEvent {
    }

    /** Something suspicious was seen and recorded, e.g. a replayed page that was dropped. */
    record AnomalySeen(String migrationId, String kind, String detail) implements MigrationEvent {
    }

    /** The run ended; nothing follows. */
    record Finished(String migrationId, MigrationSummary summary) implements MigrationEvent {
    }
}
