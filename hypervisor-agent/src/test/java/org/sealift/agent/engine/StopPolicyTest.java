package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.RoundStats;

class StopPolicyTest {

    private static final long MEM = 1L << 30;
    private static final int PAGE_WIRE = 4096 + 8;

    /** A round that sent {@code bytes} in {@code millis} and left {@code dirty} pages. */
    private static RoundStats round(int n, long bytes, long dirty, long millis) {
        return new RoundStats(n, bytes / 4096, 0, 0, bytes, dirty, millis * 1_000_000L, false);
    }

    @Test
    void idleVmStopsAfterRoundZeroBecauseNothingIsDirty() {
        StopPolicy p = new StopPolicy(MigrationOptions.defaults(MigrationMode.SECURE), MEM, PAGE_WIRE);
        assertEquals(Optional.of(StopPolicy.Reason.DIRTY_UNDER_THRESHOLD), p.afterRound(round(0, MEM, 49, 500), 0));
    }

    @Test
    void stopsWhenTheEstimatedDowntimeIsUnderTheTarget() {
        StopPolicy p = new StopPolicy(MigrationOptions.defaults(MigrationMode.SECURE), MEM, PAGE_WIRE);
        // 1 GiB/s measured; 4096 dirty pages ≈ 16.4 MB ≈ 16 ms, plus 5 ms fixed: well under 300 ms
        RoundStats r = round(0, MEM, 4096, 1000);
        assertEquals(Optional.of(StopPolicy.Reason.DOWNTIME_UNDER_TARGET), p.afterRound(r, 5_000_000));
        long expected = (long) (4096.0 * PAGE_WIRE * 1e9 / (MEM / 1.0)) + 5_000_000;
        assertEquals(expected, p.lastEstimateNanos(), 1000);
    }

    @Test
    void goesOnWhileTheEstimateIsOverTheTarget() {
        StopPolicy p = new StopPolicy(MigrationOptions.defaults(MigrationMode.SECURE), MEM, PAGE_WIRE);
        // 100 MB/s measured, 100k dirty pages ≈ 4 s
        assertEquals(Optional.empty(), p.afterRound(round(0, 100_000_000, 100_000, 1000), 0));
        assertTrue(p.lastEstimateNanos() > 300_000_000L);
    }

    @Test
    void stopsAfterMaxRounds() {
        MigrationOptions o = MigrationOptions.defaults(MigrationMode.PLAIN).withMaxRounds(3);
        StopPolicy p = new StopPolicy(o, MEM, PAGE_WIRE);
        assertEquals(Optional.empty(), p.afterRound(round(0, 1_000_000, 100_000, 1000), 0));
        assertEquals(Optional.empty(), p.afterRound(round(1, 1_000_000, 100_000, 1000), 0));
        assertEquals(Optional.of(StopPolicy.Reason.MAX_ROUNDS), p.afterRound(round(2, 1_000_000, 100_000, 1000), 0));
    }

    @Test
    void stopsWhenMoreThanThreeTimesMemoryWasSent() {
        StopPolicy p = new StopPolicy(MigrationOptions.defaults(MigrationMode.SECURE), MEM, PAGE_WIRE);
        // slow rounds with a big working set: the estimate never gets under the target
        int n = 0;
        Optional<StopPolicy.Reason> r;
        do {
            r = p.afterRound(round(n++, MEM, 200_000, 10_000), 0);
        } while (r.isEmpty());
        assertEquals(StopPolicy.Reason.SENT_OVER_LIMIT, r.get());
        assertEquals(4, n, "rounds until more than 3 GiB were sent");
    }

    @Test
    void bandwidthLimitCapsTheThroughputUsedForTheEstimate() {
        MigrationOptions o = MigrationOptions.defaults(MigrationMode.SECURE).withBandwidthMiBps(10);
        StopPolicy p = new StopPolicy(o, MEM, PAGE_WIRE);
        // measured 1 GiB/s (a burst), but at 10 MiB/s 4096 pages take ~1.6 s
        assertEquals(Optional.empty(), p.afterRound(round(0, MEM, 4096, 1000), 0));
        assertTrue(p.lastEstimateNanos() > 1_500_000_000L, "estimate " + p.lastEstimateNanos());
    }
}
