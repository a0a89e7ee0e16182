package org.sealift.console.ui.util;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;

/**
 * Hands values from any thread to the UI thread, keeping only the newest: however fast a core service publishes,
 * at most one update is pending and updates are applied at most every {@code minIntervalMs}. Nothing runs once the
 * owner control is disposed.
 */
public final class UiCoalescer<T> {

    private final Control owner;
    private final Display display;
    private final int minIntervalMs;
    private final Consumer<T> apply;
    private final AtomicReference<T> latest = new AtomicReference<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private long lastApplyNanos;
    private final Runnable drain = this::drain;

    public UiCoalescer(Control owner, int minIntervalMs, Consumer<T> apply) {
        this.owner = owner;
        this.display = owner.getDisplay();
        this.minIntervalMs = minIntervalMs;
        this.apply = apply;
    }

    /** Any thread. */
    public void post(T value) {
        latest.set(value);
        if (scheduled.compareAndSet(false, true)) {
            try {
                display.asyncExec(drain);
            } catch (org.eclipse.swt.SWTException e) {
                // the display is gone: nobody to show it to
            }
        }
    }

    private void drain() {
        if (owner.isDisposed()) {
            return;
        }
        long waitMs = minIntervalMs - (System.nanoTime() - lastApplyNanos) / 1_000_000L;
        if (lastApplyNanos != 0 && waitMs > 0) {
            display.timerExec((int) waitMs, drain);
            return;
        }
        scheduled.set(false); // a post() from now on schedules another drain
        T value = latest.getAndSet(null);
        if (value != null) {
            lastApplyNanos = System.nanoTime();
            apply.accept(value);
        }
    }
}
