package org.sealift.model;

/**
 * Statistics of one pre-copy round (round 0 sends all memory; the last one is stop-and-copy), shaped
 * like Xen's precopy_stats so charts and logs read the same for both backends.
 *
 * @param round           0-based round number
 * @param pagesNormal     normal pages sent in full
 * @param pagesProtected  protected pages sent sealed
 * @param pagesZero       normal pages sent as zero markers
 * @param bytes           bytes put on the stream in this round (headers included)
 * @param dirtyPagesLeft  pages dirtied while this round ran (what the next round must send)
 * @param durationNanos   wall time of the round
 * @param stopAndCopy     true for the final round, sent with the VM paused
 */
public record RoundStats(int round, long pagesNormal, long pagesProtected, long pagesZero, long bytes,
        long dirtyPagesLeft, long durationNanos, boolean stopAndCopy) {

    public RoundStats {
        if (round < 0 || pagesNormal < 0 || pagesProtected < 0 || pagesZero < 0 || bytes < 0 || dirtyPagesLeft < 0
                || durationNanos < 0) {
            throw new IllegalArgumentException("round statistics must not be negative: round " + round);
        }
    }

    public long pagesSent() {
        return pagesNormal + pagesProtected + pagesZero;
    }

    /** Pages dirtied per second while the round ran. */
    public double dirtyRatePagesPerSecond() {
        return durationNanos == 0 ? 0 : dirtyPagesLeft * 1e9 / durationNanos;
    }

    /** Stream bytes per second in this round. */
    public double throughputBytesPerSecond() {
        return durationNanos == 0 ? 0 : bytes * 1e9 / durationNanos;
    }
}
