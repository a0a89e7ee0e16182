package org.sealift.model;

import java.util.List;
import java.util.Objects;

/**
 * The result of one migration as the engine measured it. Totals are over all rounds, the stop-and-copy round
 * included; downtime runs from the pause at the source to the resume at the destination.
 *
 * @param migrationId     hex migration id (from the handshake; a random one in plain mode)
 * @param vmId            the VM that moved (or did not)
 * @param mode            secure or plain
 * @param outcome         how it ended
 * @param reason          why it ended that way: "completed" for a commit, else a stable reason name and a message
 * @param rounds          per-round statistics, in order
 * @param totalNanos      from the start of the migration to its commit (the source holds the destination's proof
 *                        that the VM runs there, and the original may be discarded, as Clark et al. define total
 *                        migration time); for any other outcome, to the end of the run. Cleanup after the commit
 *                        (destroying the source domain, unmapping, the attestation) is not in it
 * @param downtimeNanos   from pause at the source to resume at the destination, 0 if the VM never paused
 * @param anomalies       anomalies seen (replay, tamper, reorder, unexpected record, deadline), as text
 */
public record MigrationSummary(String migrationId, String vmId, MigrationMode mode, MigrationOutcome outcome,
        String reason, List<RoundStats> rounds, long totalNanos, long downtimeNanos, List<String> anomalies) {

    public MigrationSummary {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(reason, "reason");
        rounds = List.copyOf(rounds);
        anomalies = List.copyOf(anomalies);
        if (totalNanos < 0 || downtimeNanos < 0) {
            throw new IllegalArgumentException("migration " + migrationId + ": times must not be negative");
        }
    }

    /** Bytes put on the stream in all rounds. */
    public long bytes() {
        long b = 0;
        for (RoundStats r : rounds) {
            b += r.bytes();
        }
        return b;
    }

    public long pagesNormal() {
        return rounds.stream().mapToLong(RoundStats::pagesNormal).sum();
    }

    public long pagesProtected() {
        return rounds.stream().mapToLong(RoundStats::pagesProtected).sum();
    }

    public long pagesZero() {
        return rounds.stream().mapToLong(RoundStats::pagesZero).sum();
    }
}
