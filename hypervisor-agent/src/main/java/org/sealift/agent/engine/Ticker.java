package org.sealift.agent.engine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** Time source and sleeper of the engine, replaceable so that rate and deadline logic is tested without waiting. */
public interface Ticker {

    long nanoTime();

    /** Sleeps about {@code nanos}; returns early when the thread is interrupted (the flag stays set). */
    void sleepNanos(long nanos);

    Ticker SYSTEM = new Ticker() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleepNanos(long nanos) {
            long end = System.nanoTime() + nanos;
            long left = nanos;
            while (left > 0 && !Thread.currentThread().isInterrupted()) {
                LockSupport.parkNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
                left = end - System.nanoTime();
            }
        }
    };
}
