package org.sealift.model;

/**
 * What an operator may tune for one migration. Defaults follow PROTOCOL.md and Xen's pre-copy
 * heuristics: stop after 30 rounds, when fewer than 50 pages are dirty, when the estimated
 * downtime is under 300 ms, or when more than 3× the VM's memory has been sent.
 *
 * @param mode               secure or plain
 * @param maxRounds          pre-copy rounds before stop-and-copy (1..1000)
 * @param dirtyPageThreshold stop when fewer pages than this are dirty after a round
 * @param downtimeTargetMs   stop when the estimated stop-and-copy time is under this
 * @param bandwidthMiBps     cap on the stream rate, 0 for none
 * @param maxSentFactor      stop when this many times the VM's memory has been sent
 */
public record MigrationOptions(MigrationMode mode, int maxRounds, int dirtyPageThreshold, int downtimeTargetMs,
        int bandwidthMiBps, double maxSentFactor) {

    public static final int DEFAULT_MAX_ROUNDS = 30;
    public static final int DEFAULT_DIRTY_PAGE_THRESHOLD = 50;
    public static final int DEFAULT_DOWNTIME_TARGET_MS = 300;
    public static final double DEFAULT_MAX_SENT_FACTOR = 3.0;

    public MigrationOptions {
        if (mode == null) {
            throw new IllegalArgumentException("migration mode missing: use 'secure' or 'plain'");
        }
        if (maxRounds < 1 || maxRounds > 1000) {
            throw new IllegalArgumentException("max rounds " + maxRounds + " is out of range: use 1 to 1000");
        }
        if (dirtyPageThreshold < 0) {
            throw new IllegalArgumentException("dirty page threshold " + dirtyPageThreshold + " is negative: use 0 or more");
        }
        if (downtimeTargetMs < 1 || downtimeTargetMs > 600_000) {
            throw new IllegalArgumentException("downtime target " + downtimeTargetMs + " ms is out of range: use 1 to 600000 ms");
        }
        if (bandwidthMiBps < 0) {
            throw new IllegalArgumentException("bandwidth limit " + bandwidthMiBps + " MiB/s is negative: use 0 for no limit");
        }
        if (!(maxSentFactor >= 1.0) || maxSentFactor > 100.0) {
            throw new IllegalArgumentException("max sent factor " + maxSentFactor + " is out of range: use 1 to 100");
        }
    }

    /** The defaults for a mode. */
    public static MigrationOptions defaults(MigrationMode mode) {
        return new MigrationOptions(mode, DEFAULT_MAX_ROUNDS, DEFAULT_DIRTY_PAGE_THRESHOLD, DEFAULT_DOWNTIME_TARGET_MS, 0,
                DEFAULT_MAX_SENT_FACTOR);
    }

    public MigrationOptions withMaxRounds(int n) {
        return new MigrationOptions(mode, n, dirtyPageThreshold, downtimeTargetMs, bandwidthMiBps, maxSentFactor);
    }

    public MigrationOptions withDowntimeTargetMs(int ms) {
        return new MigrationOptions(mode, maxRounds, dirtyPageThreshold, ms, bandwidthMiBps, maxSentFactor);
    }

    public MigrationOptions withBandwidthMiBps(int mibps) {
        return new MigrationOptions(mode, maxRounds, dirtyPageThreshold, downtimeTargetMs, mibps, maxSentFactor);
    }
}
