package org.sealift.agent.engine;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * Enforces the G4 deadlines on the agent's side. The engine arms it with an absolute deadline (handshake, paused
 * without RELEASE, after READY) or a silence limit over a progress counter (bytes read or written during
 * pre-copy); when it fires it records why and runs the trip action, which closes the transport so that every
 * blocked read and write fails at once. The hypervisors enforce the commit deadlines again on their own.
 */
final class Watchdog implements AutoCloseable {

    private final Ticker ticker;
    private final Runnable trip;
    private final Thread thread;
    private final AtomicReference<String> fired = new AtomicReference<>();
    private volatile long deadlineAt = Long.MAX_VALUE;
    private volatile String deadlineName;
    private volatile LongSupplier progress;
    private volatile long silenceNanos;
    private volatile String silenceName;
    private volatile boolean stopped;

    Watchdog(Ticker ticker, String name, Runnable trip) {
        this.ticker = ticker;
        this.trip = trip;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** From now on, fire {@code nanos} later unless re-armed or disarmed. */
    void deadline(String name, long nanos) {
        deadlineName = name;
        deadlineAt = ticker.nanoTime() + nanos;
    }

    void clearDeadline() {
        deadlineAt = Long.MAX_VALUE;
    }

    /** Fire when {@code counter} does not move for {@code nanos}; null counter disarms. */
    void silence(String name, LongSupplier counter, long nanos) {
        silenceName = name;
        silenceNanos = nanos;
        progress = counter;
    }

    private boolean stillArmed(String why) {
        return why.equals(deadlineName) && ticker.nanoTime() >= deadlineAt
                || why.equals(silenceName) && progress != null;
    }

    /**
     * Disarms everything unless it already fired; true if disarmed. The engine calls this right before a commit
     * point (asking the hypervisor for RELEASE), so that a deadline never interrupts what follows it.
     */
    synchronized boolean disarmIfNotFired() {
        if (fired.get() != null) {
            return false;
        }
        deadlineAt = Long.MAX_VALUE;
        progress = null;
        return true;
    }

    /** Why it fired, or null. */
    String fired() {
        return fired.get();
    }

    private void loop() {
        long lastValue = Long.MIN_VALUE;
        long lastChange = ticker.nanoTime();
        LongSupplier watched = null;
        while (!stopped) {
            long now = ticker.nanoTime();
            String why = null;
            if (now >= deadlineAt) {
                why = deadlineName;
            }
            LongSupplier p = progress;
            if (p != watched) {
                watched = p;
                lastValue = p == null ? Long.MIN_VALUE : p.getAsLong();
                lastChange = now;
            } else if (p != null) {
                long v = p.getAsLong();
                if (v != lastValue) {
                    lastValue = v;
                    lastChange = now;
                } else if (now - lastChange >= silenceNanos) {
                    why = silenceName;
                }
            }
            if (why != null) {
                synchronized (this) {
                    // re-check under the lock: the engine may have disarmed it at a commit point meanwhile
                    if (stillArmed(why) && fired.compareAndSet(null, why)) {
                        trip.run();
                        return;
                    }
                }
            }
            ticker.sleepNanos(20_000_000L);
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
