package org.sealift.hypervisor.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Plays the guest: while the domain runs, it writes its writable working sets at the configured rates, normal pages
 * into shared memory (and the dirty log), protected pages through their process (version bump, fresh OS-view
 * ciphertext). It works in ticks of about 10 ms and catches up on the time that passed, so the rate holds whatever
 * the tick jitter; an idle guest's thread sleeps until the domain's state changes, so a large idle VM costs nothing.
 * {@link #pause()} returns only once no tick is running: then the guest writes nothing until {@link #resume()}.
 */
final class Workload {

    private static final long TICK_NANOS = 10_000_000L;

    private final Domain domain;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final long[] normalSet;
    private final long[] protectedSet;
    private final SplittableRandom random;
    private Thread thread;
    private boolean running;
    private boolean stopped;
    private double normalDebt;
    private double protectedDebt;
    private long counter;

    Workload(Domain domain) {
        this.domain = domain;
        var w = domain.config.workload();
        this.random = new SplittableRandom(w.seed() * 31 + 7);
        this.normalSet = firstPages(false, w.normalWorkingSetPages());
        this.protectedSet = firstPages(true, w.protectedWorkingSetPages());
    }

    /** The working set: the first {@code n} normal (or protected) pfns in ascending order. */
    private long[] firstPages(boolean protectedPages, long n) {
        List<Long> out = new ArrayList<>();
        long pages = domain.pageCount();
        for (long pfn = 0; pfn < pages && out.size() < n; pfn++) {
            if (isProtectedLayout(pfn) == protectedPages) {
                out.add(pfn);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private boolean isProtectedLayout(long pfn) {
        for (var p : domain.config.protectedProcesses()) {
            for (var r : p.ranges()) {
                if (r.contains(pfn)) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean idle() {
        var w = domain.config.workload();
        return (w.normalDirtyPagesPerSecond() == 0 || normalSet.length == 0)
                && (w.protectedDirtyPagesPerSecond() == 0 || protectedSet.length == 0);
    }

    void resume() {
        lock.lock();
        try {
            if (stopped) {
                return;
            }
            running = true;
            if (thread == null && !idle()) {
                thread = new Thread(this::run, "dom" + domain.domId + "-" + domain.config.name() + "-guest");
                thread.setDaemon(true);
                thread.start();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** When this returns the guest no longer writes (the tick in progress, if any, has finished). */
    void pause() {
        lock.lock();
        try {
            running = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void stop() {
        Thread t;
        lock.lock();
        try {
            running = false;
            stopped = true;
            t = thread;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        var w = domain.config.workload();
        long last = System.nanoTime();
        lock.lock();
        try {
            while (!stopped) {
                if (!running) {
                    changed.awaitUninterruptibly();
                    last = System.nanoTime();
                    continue;
                }
                long now = System.nanoTime();
                double secs = (now - last) / 1e9;
                last = now;
                normalDebt += secs * w.normalDirtyPagesPerSecond();
                protectedDebt += secs * w.protectedDirtyPagesPerSecond();
                tick((long) normalDebt, (long) protectedDebt);
                normalDebt -= (long) normalDebt;
                protectedDebt -= (long) protectedDebt;
                // sleeping in awaitNanos releases the lock, so pause() never waits longer than one tick's writes
                changed.awaitNanos(TICK_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    private void tick(long normalWrites, long protectedWrites) {
        domain.life.readLock().lock();
        try {
            if (domain.destroyed()) {
                return;
            }
            for (long i = 0; i < normalWrites && normalSet.length > 0; i++) {
                long pfn = normalSet[random.nextInt(normalSet.length)];
                domain.ram.page(pfn).putLong(random.nextInt(Domain.PAGE / 8) * 8, ++counter);
                domain.markDirty(pfn);
            }
            for (long i = 0; i < protectedWrites && protectedSet.length > 0; i++) {
                long pfn = protectedSet[random.nextInt(protectedSet.length)];
                ProtectedProcess p = domain.ownerOf(pfn);
                // the first 64 bytes hold the test marker; the process writes behind it
                int offset = 64 + random.nextInt((Domain.PAGE - 64) / 8) * 8;
                p.write(domain.indexInOwner(pfn), offset, ++counter, domain.ram);
                domain.markDirty(pfn);
                p.touchContext((int) (counter % p.vcpus()), counter);
            }
            for (int v = 0; v < domain.config.vcpus(); v++) {
                domain.tickKernelContext(v, counter);
            }
        } finally {
            domain.life.readLock().unlock();
        }
    }
}
