package org.sealift.agent.engine;

/**
 * Token bucket that caps the stream rate (MigrationOptions.bandwidthMiBps). The bucket holds at most
 * {@code burstBytes}, so an idle period does not let the next round exceed the cap for long. One writer thread
 * calls {@link #acquire}; the class is not thread-safe on purpose (no locking on the hot path).
 */
public final class BandwidthLimiter {

    private final long bytesPerSecond;
    private final long burstBytes;
    private final Ticker ticker;
    private double tokens;
    private long last;
    private long waitedNanos;

    /** No limit: {@link #acquire} returns at once. */
    public static BandwidthLimiter unlimited() {
        return new BandwidthLimiter(0, 0, Ticker.SYSTEM);
    }

    /** A limit of {@code mibPerSecond} MiB/s (0 = none), with a burst of 1/20 s worth of bytes, at least 64 KiB. */
    public static BandwidthLimiter ofMiBps(int mibPerSecond, Ticker ticker) {
        long rate = mibPerSecond * 1024L * 1024L;
        return new BandwidthLimiter(rate, Math.max(64 * 1024, rate / 20), ticker);
    }

    public BandwidthLimiter(long bytesPerSecond, long burstBytes, Ticker ticker) {
        if (bytesPerSecond < 0 || burstBytes < 0) {
            throw new IllegalArgumentException("bandwidth " + bytesPerSecond + " B/s, burst " + burstBytes
                    + " B: use non-negative values (0 for no limit)");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = burstBytes;
        this.ticker = ticker;
        this.tokens = burstBytes;
        this.last = ticker.nanoTime();
    }

    public boolean limited() {
        return bytesPerSecond > 0;
    }

    /** Blocks until {@code bytes} may be sent. A request larger than the burst is paid off in debt (waits longer). */
    public void acquire(long bytes) {
        if (bytesPerSecond == 0 || bytes <= 0) {
            return;
        }
        refill();
        tokens -= bytes;
        if (tokens < 0) {
            long wait = (long) Math.ceil(-tokens * 1e9 / bytesPerSecond);
            ticker.sleepNanos(wait);
            waitedNanos += wait;
            refill();
        }
    }

    private void refill() {
        long now = ticker.nanoTime();
        tokens = Math.min(burstBytes, tokens + (now - last) * (double) bytesPerSecond / 1e9);
        last = now;
    }

    /** Total time {@link #acquire} asked to sleep so far. */
    public long waitedNanos() {
        return waitedNanos;
    }
}
