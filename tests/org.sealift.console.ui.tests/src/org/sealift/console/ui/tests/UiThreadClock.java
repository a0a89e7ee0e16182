package org.sealift.console.ui.tests;

import java.util.concurrent.atomic.AtomicBoolean;

import org.eclipse.swt.widgets.Display;

/**
 * Runs the UI thread's event loop and measures how long each {@link Display#readAndDispatch()} call keeps the thread
 * busy: one call dispatches one event or runs queued runnables, so the longest call is the longest time the UI could
 * not react to a person. Measurements are grouped by phase. For benchmarks: nothing asserts on these numbers.
 */
final class UiThreadClock {

    private final Display display;
    private volatile String phase = "setup";
    private final java.util.Map<String, long[]> stats = new java.util.LinkedHashMap<>(); // max ns, total ns, calls

    UiThreadClock(Display display) {
        this.display = display;
    }

    void phase(String name) {
        phase = name;
    }

    /** Times a piece of UI-thread work that runs outside the loop (e.g. creating a part). */
    void timed(String name, Runnable r) {
        long t = System.nanoTime();
        r.run();
        record(name, System.nanoTime() - t);
    }

    synchronized void record(String p, long nanos) {
        long[] s = stats.computeIfAbsent(p, k -> new long[3]);
        s[0] = Math.max(s[0], nanos);
        s[1] += nanos;
        s[2]++;
    }

    /** Dispatches events, timing each call, until {@code done} is set. */
    void loop(AtomicBoolean done) {
        while (!done.get()) {
            long t = System.nanoTime();
            boolean more = display.readAndDispatch();
            long d = System.nanoTime() - t;
            record(phase, d);
            if (!more) {
                display.sleep();
            }
        }
    }

    synchronized double maxMillis(String p) {
        long[] s = stats.get(p);
        return s == null ? 0 : s[0] / 1e6;
    }

    synchronized String report() {
        StringBuilder sb = new StringBuilder();
        stats.forEach((p, s) -> sb.append(String.format("  %-28s longest UI-thread block %8.2f ms, busy %9.1f ms in %d"
                + " dispatches%n", p, s[0] / 1e6, s[1] / 1e6, s[2])));
        return sb.toString();
    }
}
