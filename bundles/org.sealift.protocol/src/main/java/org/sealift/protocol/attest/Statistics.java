package org.sealift.protocol.attest;

/**
 * What the migration moved and how long it took, as counted by the hypervisors. All counts are unsigned; rounds fits
 * in 32 bits.
 */
public record Statistics(long rounds, long pagesNormal, long pagesProtected, long pagesZero, long bytes,
        long downtimeMillis, long totalMillis) {

    public static final Statistics NONE = new Statistics(0, 0, 0, 0, 0, 0, 0);

    public Statistics {
        if (rounds < 0 || rounds > 0xffff_ffffL) {
            throw new IllegalArgumentException("rounds must fit in 32 bits, got " + rounds);
        }
    }
}
