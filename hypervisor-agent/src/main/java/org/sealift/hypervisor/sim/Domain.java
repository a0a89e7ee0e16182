package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.sealift.agent.sim.MappedPages;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.SecretMarker;

/**
 * One guest: its memory (a shared file: plaintext for normal pages, ciphertext for protected ones), the dirty log,
 * vCPU contexts, protected processes and the workload that plays the guest. State changes go through
 * {@link SimHypervisor}, which holds the decision lock; this class keeps the memory consistent.
 */
final class Domain {

    static final int PAGE = MappedPages.PAGE;
    static final int KERNEL_CONTEXT_BYTES = 256;

    final int domId;
    final DomainConfig config;
    final Path memoryFile;
    final MappedPages ram;
    final List<ProtectedProcess> processes = new ArrayList<>();
    /** Per pfn: 0 = normal, else 1 + index into {@link #processes}. */
    private final short[] owner;
    /** Per pfn: index of the page inside its process. */
    private final int[] ownerIndex;
    private final AtomicLongArray dirty;
    private final byte[][] kernelContexts;
    final Workload workload;
    /** Readers use the memory; destroy takes it exclusively, so nothing touches an unmapped file. */
    final ReentrantReadWriteLock life = new ReentrantReadWriteLock();
    private volatile boolean destroyed;

    DomainState state = DomainState.PAUSED;
    boolean dirtyLogging;
    /** The migration holding this VM's lock, if any. */
    MigrationRecord migration;

    private Domain(int domId, DomainConfig config, Path memoryFile, MappedPages ram) {
        this.domId = domId;
        this.config = config;
        this.memoryFile = memoryFile;
        this.ram = ram;
        long pages = config.pageCount();
        this.owner = new short[(int) pages];
        this.ownerIndex = new int[(int) pages];
        this.dirty = new AtomicLongArray(PageBitmap.wordsFor(pages));
        this.kernelContexts = new byte[config.vcpus()][KERNEL_CONTEXT_BYTES];
        this.workload = new Workload(this);
    }

    /**
     * Creates the guest: memory file (zero), protected processes with fresh keys. With {@code populate} the guest
     * "boots": normal pages are filled to the workload's fill share and protected pages get their process's data
     * (marker first if the test option asks); otherwise (an incoming migration) memory stays empty until it arrives.
     */
    static Domain create(int domId, DomainConfig config, Path memoryDir, SecureRandom random, boolean populate)
            throws IOException {
        if (config.pageCount() > Integer.MAX_VALUE / 2) {
            throw new IOException("VM " + config.name() + " is too large for the simulator");
        }
        Files.createDirectories(memoryDir);
        Path file = memoryDir.resolve("dom" + domId + "-" + config.name() + ".mem");
        Files.deleteIfExists(file);
        MappedPages ram = MappedPages.map(file, config.pageCount(), true, true);
        Domain d = new Domain(domId, config, file, ram);
        int pid = 1;
        for (ProtectedProcessSpec spec : config.protectedProcesses()) {
            ProtectedProcess p = new ProtectedProcess(pid++, spec, config.vcpus(), random);
            d.processes.add(p);
            for (int i = 0; i < p.pfns.length; i++) {
                d.owner[(int) p.pfns[i]] = (short) d.processes.size();
                d.ownerIndex[(int) p.pfns[i]] = i;
            }
        }
        if (populate) {
            d.populate();
        }
        return d;
    }

    private void populate() {
        SplittableRandom rnd = new SplittableRandom(config.workload().seed());
        int fill = config.workload().fillPercent();
        for (long pfn = 0; pfn < config.pageCount(); pfn++) {
            if (owner[(int) pfn] == 0 && fill > 0 && Math.floorMod(mix(pfn ^ config.workload().seed()), 100) < fill) {
                ByteBuffer pg = ram.page(pfn);
                for (int o = 0; o < PAGE; o += 8) {
                    pg.putLong(o, rnd.nextLong());
                }
            } else if (owner[(int) pfn] == 0 && fill > 0) {
                // a guest that has used its memory has it backed even where it holds zeros (Xen populates a domain's
                // memory); a hole in the memory file would make the first read of it, even dom0's, allocate it. A
                // fill of 0 is a guest that never touched its memory (and the plain destination's empty domain).
                ram.page(pfn).put(0, (byte) 0);
            }
        }
        ByteBuffer content = ByteBuffer.allocate(PAGE);
        for (ProtectedProcess p : processes) {
            for (int i = 0; i < p.pageCount(); i++) {
                content.clear();
                if (config.workload().secretMarkerSeed().isPresent()) {
                    SecretMarker.writeTo(config.workload().secretMarkerSeed().getAsLong(), content);
                }
                while (content.hasRemaining()) {
                    content.putLong(rnd.nextLong());
                }
                content.flip();
                p.install(i, content, 1, ram);
            }
            for (int v = 0; v < config.vcpus(); v++) {
                ByteBuffer ctx = ByteBuffer.allocate(ProtectedProcess.CONTEXT_BYTES);
                if (config.workload().secretMarkerSeed().isPresent()) {
                    SecretMarker.writeTo(config.workload().secretMarkerSeed().getAsLong(), ctx);
                }
                while (ctx.hasRemaining()) {
                    ctx.putLong(rnd.nextLong());
                }
                p.setContext(v, ctx.array(), 1);
            }
        }
        for (int v = 0; v < config.vcpus(); v++) {
            ByteBuffer ctx = ByteBuffer.wrap(kernelContexts[v]);
            ctx.putLong(0, v).putLong(8, 0x1000L * (v + 1));
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    boolean destroyed() {
        return destroyed;
    }

    long pageCount() {
        return config.pageCount();
    }

    boolean isProtected(long pfn) {
        return owner[(int) pfn] != 0;
    }

    /** The process owning {@code pfn}, or null for a normal page. */
    ProtectedProcess ownerOf(long pfn) {
        int o = owner[(int) pfn];
        return o == 0 ? null : processes.get(o - 1);
    }

    int indexInOwner(long pfn) {
        return ownerIndex[(int) pfn];
    }

    ProtectedProcess process(int processId) {
        for (ProtectedProcess p : processes) {
            if (p.processId == processId) {
                return p;
            }
        }
        return null;
    }

    PageBitmap protectedBitmap() {
        long[] w = new long[PageBitmap.wordsFor(pageCount())];
        for (ProtectedProcess p : processes) {
            for (long pfn : p.pfns) {
                w[(int) (pfn >>> 6)] |= 1L << (pfn & 63);
            }
        }
        return new PageBitmap(pageCount(), w);
    }

    /** Records a guest write in the dirty log (Xen's log-dirty), if dom0 enabled it. */
    void markDirty(long pfn) {
        if (dirtyLogging) {
            int w = (int) (pfn >>> 6);
            long bit = 1L << (pfn & 63);
            if ((dirty.get(w) & bit) == 0) {
                dirty.getAndAccumulate(w, bit, (a, b) -> a | b);
            }
        }
    }

    PageBitmap readDirty(boolean clean) {
        long[] w = new long[dirty.length()];
        for (int i = 0; i < w.length; i++) {
            w[i] = clean ? dirty.getAndSet(i, 0) : dirty.get(i);
        }
        return new PageBitmap(pageCount(), w);
    }

    void setDirtyLogging(boolean on) {
        dirtyLogging = on;
        if (!on) {
            for (int i = 0; i < dirty.length(); i++) {
                dirty.set(i, 0);
            }
        }
    }

    byte[] kernelContext(int vcpu) {
        synchronized (kernelContexts[vcpu]) {
            return kernelContexts[vcpu].clone();
        }
    }

    void setKernelContext(int vcpu, byte[] ctx) {
        synchronized (kernelContexts[vcpu]) {
            System.arraycopy(ctx, 0, kernelContexts[vcpu], 0, KERNEL_CONTEXT_BYTES);
        }
    }

    void tickKernelContext(int vcpu, long value) {
        synchronized (kernelContexts[vcpu]) {
            ByteBuffer.wrap(kernelContexts[vcpu]).putLong(16, value);
        }
    }

    /** SHA-256 over the plaintext of every protected page, in pfn order (diagnostics). */
    byte[] protectedDigest() {
        var md = Measurement.sha256();
        long[] all = protectedBitmap().toPfns();
        for (long pfn : all) {
            ProtectedProcess p = ownerOf(pfn);
            int i = indexInOwner(pfn);
            synchronized (p.lockFor(i)) {
                md.update(p.plainPage(i));
            }
        }
        return md.digest();
    }

    /**
     * Stops the workload and ends the domain at once (nothing maps or runs it afterwards); zeroizing its protected
     * state and freeing its memory file, which for a large VM takes a while (the kernel frees every page), happen on
     * a background thread, as Xen relinquishes a dying domain's memory after the destroy call returned.
     */
    void destroy() {
        workload.stop();
        destroyed = true;
        for (ProtectedProcess p : processes) {
            p.zeroize();
        }
        RELEASER.execute(this::release);
    }

    private static final java.util.concurrent.ExecutorService RELEASER = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "domain-memory-releaser");
                t.setDaemon(true);
                return t;
            });

    /**
     * Waits until every release queued so far has run (at shutdown: the memory files of destroyed domains are gone
     * before the process exits, so tmpfs is not left holding them).
     */
    static void awaitReleases() {
        try {
            RELEASER.submit(() -> { }).get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // a release that failed or hangs leaves a file that the next boot of this host removes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code release} (unmapping, deleting files) on the background thread that frees destroyed domains. */
    static void releaseLater(Runnable release) {
        RELEASER.execute(release);
    }

    /** Unmaps and deletes the memory file once no reader (dom0's requests, the OS-view publisher) uses it. */
    private void release() {
        life.writeLock().lock();
        try {
            ram.close();
        } finally {
            life.writeLock().unlock();
        }
        try {
            Files.deleteIfExists(memoryFile);
        } catch (IOException e) {
            // the file is in tmpfs or the state dir; a leftover is harmless and replaced on the next create
        }
    }
}
