package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BandwidthLimiterTest {

    private static final long MIB = 1024 * 1024;

    @Test
    void sendingTenTimesTheRateTakesTenSecondsLessTheBurst() {
        FakeTicker t = new FakeTicker();
        BandwidthLimiter l = BandwidthLimiter.ofMiBps(100, t);
        for (int i = 0; i < 1000; i++) {
            l.acquire(MIB); // 1000 MiB at 100 MiB/s
        }
        long burst = 100 * MIB / 20;
        double expected = (1000 * MIB - burst) * 1e9 / (100 * MIB);
        assertEquals(expected, t.slept, 1e6, "time spent waiting for tokens");
        assertEquals(t.slept, l.waitedNanos());
    }

    @Test
    void idleTimeRefillsOnlyUpToTheBurst() {
        FakeTicker t = new FakeTicker();
        BandwidthLimiter l = BandwidthLimiter.ofMiBps(10, t);
        long burst = 10 * MIB / 20;
        l.acquire(burst);
        assertEquals(0, t.slept, "the first burst is free");
        t.advance(60_000_000_000L); // a minute idle must not bank a minute of bandwidth
        l.acquire(burst);
        assertEquals(0, t.slept);
        l.acquire(MIB);
        assertEquals(MIB * 1e9 / (10 * MIB), t.slept, 1e3, "the bucket was empty again");
    }

    @Test
    void zeroMeansUnlimited() {
        FakeTicker t = new FakeTicker();
        BandwidthLimiter l = BandwidthLimiter.ofMiBps(0, t);
        assertFalse(l.limited());
        l.acquire(1L << 40);
        assertEquals(0, t.slept);
        assertTrue(BandwidthLimiter.ofMiBps(1, t).limited());
    }

    @Test
    void negativeRateIsRefusedWithTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BandwidthLimiter(-1, 0, new FakeTicker()));
        assertTrue(e.getMessage().contains("0 for no limit"), e.getMessage());
    }
}
