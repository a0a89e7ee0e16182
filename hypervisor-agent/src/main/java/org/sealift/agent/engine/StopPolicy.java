package org.sealift.agent.engine;

import java.util.Objects;
import java.util.Optional;
import org.sealift.model.MigrationOptions;
import org.sealift.model.RoundStats;

/**
 * Decides after each live round whether to go on or to stop and copy, with the four conditions of the issue:
 * max rounds, dirty pages under the threshold, estimated downtime under the target, total sent over the limit
 * (a factor of the VM's memory). The downtime estimate is the dirty pages left times their wire size over the
 * throughput measured in the round just finished, plus a fixed commit cost measured by the caller.
 */
public final class StopPolicy {

    /** Why the live rounds ended; written to logs and round statistics. */
    public enum Reason {
        MAX_ROUNDS("max rounds reached"),
        DIRTY_UNDER_THRESHOLD("dirty pages under the threshold"),
        DOWNTIME_UNDER_TARGET("estimated downtime under the target"),
        SENT_OVER_LIMIT("total sent over the limit");

        private final String text;

        Reason(String text) {
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private final MigrationOptions options;
    private final long memoryBytes;
    private final long pageWireBytes;
    private long sentBytes;
    private long lastEstimateNanos = -1;

    /**
     * @param memoryBytes   guest memory size
     * @param pageWireBytes bytes a dirty page costs on the stream (page plus its share of record headers)
     */
    public StopPolicy(MigrationOptions options, long memoryBytes, long pageWireBytes) {
        this.options = Objects.requireNonNull(options, "options");
        if (memoryBytes <= 0 || pageWireBytes <= 0) {
            throw new IllegalArgumentException("memory " + memoryBytes + " B, page wire size " + pageWireBytes
                    + " B: both must be positive");
        }
        this.memoryBytes = memoryBytes;
        this.pageWireBytes = pageWireBytes;
    }

    /**
     * Accounts a finished live round and returns the reason to stop, if any. Checked in the order: dirty pages
     * (cheapest, and the usual end of an idle VM), downtime, sent limit, max rounds.
     *
     * @param fixedCostNanos time the stop-and-copy phase costs besides pages (vCPU state, manifest, commit)
     */
    public Optional<Reason> afterRound(RoundStats round, long fixedCostNanos) {
        sentBytes += round.bytes();
        if (round.dirtyPagesLeft() < options.dirtyPageThreshold()) {
            return Optional.of(Reason.DIRTY_UNDER_THRESHOLD);
        }
        lastEstimateNanos = estimateDowntimeNanos(round, fixedCostNanos);
        if (lastEstimateNanos <= options.downtimeTargetMs() * 1_000_000L) {
            return Optional.of(Reason.DOWNTIME_UNDER_TARGET);
        }
        if (sentBytes > (long) (options.maxSentFactor() * memoryBytes)) {
            return Optional.of(Reason.SENT_OVER_LIMIT);
        }
        if (round.round() + 1 >= options.maxRounds()) {
            return Optional.of(Reason.MAX_ROUNDS);
        }
        return Optional.empty();
    }

    /** Expected stop-and-copy time if we stopped after {@code round}; Long.MAX_VALUE when nothing was measured. */
    public long estimateDowntimeNanos(RoundStats round, long fixedCostNanos) {
        double throughput = round.throughputBytesPerSecond();
        if (options.bandwidthMiBps() > 0) {
            throughput = Math.min(throughput, options.bandwidthMiBps() * 1024.0 * 1024.0);
        }
        if (throughput <= 0) {
            return Long.MAX_VALUE;
        }
        double pagesNanos = round.dirtyPagesLeft() * (double) pageWireBytes * 1e9 / throughput;
        return (long) Math.min(Long.MAX_VALUE / 2.0, pagesNanos) + Math.max(0, fixedCostNanos);
    }

    /** Bytes sent by all rounds accounted so far. */
    public long sentBytes() {
        return sentBytes;
    }

    /** The last downtime estimate, -1 before any. */
    public long lastEstimateNanos() {
        return lastEstimateNanos;
    }
}
