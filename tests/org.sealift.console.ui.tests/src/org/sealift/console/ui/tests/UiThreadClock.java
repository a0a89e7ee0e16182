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
    private final java.util.Map<String, java.util.List<Long>> all = new java.util.HashMap<>();

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
        all.computeIfAbsent(p, k -> new java.util.ArrayList<>()).add(nanos);
    }

    private volatile long dispatchStart;
    private final java.util.Map<String, Integer> samples = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * With {@code -Dsealift.bench.profile=true}, samples the UI thread's stack whenever one dispatch has run for more
     * than 50 ms, to say what the long blocks are (printed by {@link #report()}).
     */
    private void startProfiler(Thread ui, AtomicBoolean done) {
        if (!Boolean.getBoolean("sealift.bench.profile")) {
            return;
        }
        Thread t = new Thread(() -> {
            while (!done.get()) {
                long start = dispatchStart;
                if (start != 0 && System.nanoTime() - start > 50_000_000L) {
                    StackTraceElement[] st = ui.getStackTrace();
                    StringBuilder sig = new StringBuilder();
                    int n = 0;
                    for (StackTraceElement e : st) {
                        if (n < 6 && !e.getClassName().startsWith("java.")) {
                            sig.append("\n      ").append(e.getClassName().replaceAll("^org\\.eclipse\\.", "o.e."))
                                    .append('.').append(e.getMethodName()).append(':').append(e.getLineNumber());
                            n++;
                        }
                    }
                    samples.merge(sig.toString(), 1, Integer::sum);
                }
                UiRobot.pause(10);
            }
        }, "ui-profiler");
        t.setDaemon(true);
        t.start();
    }

    /** Dispatches events, timing each call, until {@code done} is set. */
    void loop(AtomicBoolean done) {
        startProfiler(Thread.currentThread(), done);
        while (!done.get()) {
            long t = System.nanoTime();
            dispatchStart = t;
            boolean more = display.readAndDispatch();
            dispatchStart = 0;
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
        stats.forEach((p, s) -> {
            long[] d = all.get(p).stream().mapToLong(Long::longValue).sorted().toArray();
            long over = java.util.Arrays.stream(d).filter(x -> x > 100_000_000L).count();
            sb.append(String.format("  %-28s longest UI-thread block %8.2f ms (p99 %7.2f ms, median %6.2f ms, %d over"
                    + " 100 ms), busy %9.1f ms in %d dispatches%n", p, s[0] / 1e6, d[(int) (d.length * 0.99)] / 1e6,
                    d[d.length / 2] / 1e6, over, s[1] / 1e6, s[2]));
        });
        if (!samples.isEmpty()) {
            sb.append("  UI-thread stacks sampled during dispatches longer than 50 ms (count: top frames):\n");
            samples.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(8)
                    .forEach(e -> sb.append("    ").append(e.getValue()).append(':').append(e.getKey()).append('\n'));
        }
        return sb.toString();
    }
}
