package org.sealift.console.core.monitor;

import java.util.Objects;

import org.sealift.model.RoundStats;

/**
 * One round of a migration as the charts plot it.
 *
 * @param stats               the round's statistics as the source engine measured them
 * @param throughputMiBps     stream throughput during the round
 * @param estimatedDowntimeMs how long a stop-and-copy would take if the migration stopped after this round: the
 *                            pages left dirty at the round's measured throughput (Xen's pre-copy estimate)
 * @param atMillis            when the round's statistics arrived, since the migration started
 */
public record RoundPoint(RoundStats stats, double throughputMiBps, double estimatedDowntimeMs, long atMillis) {

    /** Bytes a page takes on the stream; protected pages are sealed and a little larger, which this ignores. */
    public static final int PAGE_BYTES = 4096;

    public RoundPoint {
        Objects.requireNonNull(stats, "stats");
    }

    public static RoundPoint of(RoundStats stats, long atMillis) {
        double bps = stats.throughputBytesPerSecond();
        double estimate = bps <= 0 ? 0 : stats.dirtyPagesLeft() * (double) PAGE_BYTES / bps * 1000.0;
        return new RoundPoint(stats, bps / (1024.0 * 1024.0), estimate, atMillis);
    }
}
