package org.sealift.agent.engine;

/** A clock that only moves when someone sleeps on it: rate logic is tested without waiting. */
final class FakeTicker implements Ticker {

    long now = 1_000_000_000L;
    long slept;

    @Override
    public long nanoTime() {
        return now;
    }

    @Override
    public void sleepNanos(long nanos) {
        now += nanos;
        slept += nanos;
    }

    void advance(long nanos) {
        now += nanos;
    }
}
