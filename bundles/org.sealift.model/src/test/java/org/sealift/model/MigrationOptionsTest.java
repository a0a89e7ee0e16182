package org.sealift.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MigrationOptionsTest {

    @Test
    void defaultsAreThoseOfTheDesign() {
        MigrationOptions o = MigrationOptions.defaults(MigrationMode.SECURE);
        assertEquals(30, o.maxRounds());
        assertEquals(50, o.dirtyPageThreshold());
        assertEquals(300, o.downtimeTargetMs());
        assertEquals(0, o.bandwidthMiBps());
        assertEquals(3.0, o.maxSentFactor());
    }

    @Test
    void badValuesAreRefusedWithTheRangeToUse() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> MigrationOptions.defaults(MigrationMode.PLAIN).withMaxRounds(0));
        assertTrue(e.getMessage().contains("use 1 to 1000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MigrationOptions.defaults(MigrationMode.PLAIN).withBandwidthMiBps(-5));
        assertTrue(e.getMessage().contains("use 0 for no limit"), e.getMessage());
    }

    @Test
    void modeParsingNamesTheChoices() {
        assertEquals(MigrationMode.SECURE, MigrationMode.parse(" Secure "));
        var e = assertThrows(IllegalArgumentException.class, () -> MigrationMode.parse("fast"));
        assertEquals("unknown migration mode 'fast': use 'secure' or 'plain'", e.getMessage());
    }

    @Test
    void roundRatesComeFromDurationAndCounts() {
        RoundStats r = new RoundStats(2, 100, 20, 5, 4_096_000, 300, 500_000_000L, false);
        assertEquals(125, r.pagesSent());
        assertEquals(600.0, r.dirtyRatePagesPerSecond(), 1e-9);
        assertEquals(8_192_000.0, r.throughputBytesPerSecond(), 1e-6);
    }
}
