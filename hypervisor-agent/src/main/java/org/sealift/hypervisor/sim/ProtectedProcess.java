package org.sealift.hypervisor.sim;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.sealift.agent.sim.MappedPages;
import org.sealift.agent.spi.ProtectedProcessSpec;

/**
 * A protected process (CHAOS/Overshadow cloaking): its AES-256 memory key, the plaintext of its pages and its saved
 * vCPU contexts (inside this process only, off the Java heap), and per page a 64-bit version that the hypervisor's
 * own write tracking advances on every write. The guest OS, and so dom0's normal map, sees each page only encrypted
 * under the process key (AES-CTR with IV = pfn ‖ version, so every write gives a fresh IV).
 *
 * <p>The plaintext lives in 1 MiB chunks allocated on the first write into them: an incoming domain's memory is
 * allocated as its pages arrive, overlapping with the transfer, instead of all at once (and zeroed twice) before the
 * handshake can be answered. Wiping the pages ({@link #zeroize}) runs on a background thread of this process: the
 * key and contexts are gone at once, and the plaintext never leaves the hypervisor meanwhile. A wiped chunk goes to
 * the host's {@link FreeChunks} (Xen's heap of scrubbed free pages, in this simulation): the next process to need
 * plaintext memory takes it already zeroed and backed, instead of the JDK zeroing a fresh allocation and the kernel
 * faulting each page in again.
 */
final class ProtectedProcess {

    static final int PAGE = MappedPages.PAGE;
    static final int CONTEXT_BYTES = 256;
    private static final int STRIPES = 64;
    private static final byte[] ZERO_PAGE = new byte[PAGE];
    /** Pages per plaintext chunk (1 MiB). */
    private static final int CHUNK_PAGES = 256;
    /** Wipes plaintext off the callers' path (after DONE, ABORT or destroy); one thread, so wipes never pile up CPU. */
    private static final java.util.concurrent.ExecutorService WIPER = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "protected-memory-wiper");
                t.setDaemon(true);
                return t;
            });

    final int processId;
    final String name;
    /** Ascending pfns; index i of every table below refers to pfns[i]. */
    final long[] pfns;
    private final byte[] key;
    /** The plaintext, {@link #CHUNK_PAGES} pages per chunk; null until a page of the chunk is first written. */
    private final java.util.concurrent.atomic.AtomicReferenceArray<ByteBuffer> plain;
    private final long[] versions;
    private final FreeChunks free;
    private final byte[][] contexts;
    private final long[] contextVersions;
    private final Object[] stripes = new Object[STRIPES];
    private final ThreadLocal<Cipher> osCipher = ThreadLocal.withInitial(ProtectedProcess::newCtr);
    /** Per thread: a page's plaintext and its OS-view ciphertext (the plaintext copy is overwritten after use). */
    private final ThreadLocal<byte[][]> osBuffers = ThreadLocal.withInitial(() -> new byte[2][PAGE]);
    /** The key as the JDK wants it, made once (not per page); dropped when the key changes or is zeroized. */
    private volatile SecretKeySpec keySpec;
    private volatile boolean zeroized;
    /** No plaintext since the last zeroize: cleared by every write, under the page's lock, after the write. */
    private volatile boolean wiped;

    ProtectedProcess(int processId, ProtectedProcessSpec spec, int vcpus, SecureRandom random) {
        this(processId, spec, vcpus, random, FreeChunks.HOST);
    }

    ProtectedProcess(int processId, ProtectedProcessSpec spec, int vcpus, SecureRandom random, FreeChunks free) {
        this.free = free;
        this.processId = processId;
        this.name = spec.name();
        int n = (int) spec.pageCount();
        long[] p = new long[n];
        int i = 0;
        for (var r : spec.ranges()) {
            for (long pfn = r.first(); pfn < r.end(); pfn++) {
                p[i++] = pfn;
            }
        }
        Arrays.sort(p);
        this.pfns = p;
        this.key = new byte[32];
        random.nextBytes(key);
        this.plain = new java.util.concurrent.atomic.AtomicReferenceArray<>((n + CHUNK_PAGES - 1) / CHUNK_PAGES);
        this.versions = new long[n];
        this.contexts = new byte[vcpus][CONTEXT_BYTES];
        this.contextVersions = new long[vcpus];
        for (int s = 0; s < STRIPES; s++) {
            stripes[s] = new Object();
        }
    }

    private static Cipher newCtr() {
        try {
            return Cipher.getInstance("AES/CTR/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/CTR is missing from this JDK", e);
        }
    }

    int pageCount() {
        return pfns.length;
    }

    int indexOf(long pfn) {
        return Arrays.binarySearch(pfns, pfn);
    }

    Object lockFor(int index) {
        return stripes[index & (STRIPES - 1)];
    }

    /** A view of page {@code index}'s plaintext; callers hold {@link #lockFor}. */
    ByteBuffer plainPage(int index) {
        return chunk(index).slice((index % CHUNK_PAGES) * PAGE, PAGE);
    }

    /** The chunk holding page {@code index}, allocated (zero) on first use. */
    private ByteBuffer chunk(int index) {
        int c = index / CHUNK_PAGES;
        ByteBuffer b = plain.get(c);
        if (b == null) {
            int pages = Math.min(CHUNK_PAGES, pfns.length - c * CHUNK_PAGES);
            ByteBuffer fresh = pages == CHUNK_PAGES ? free.take() : null;
            if (fresh == null) {
                fresh = ByteBuffer.allocateDirect(pages * PAGE);
            }
            b = plain.compareAndExchange(c, null, fresh);
            if (b == null) {
                b = fresh;
            } else if (pages == CHUNK_PAGES) {
                free.give(fresh); // another thread allocated it first; ours is still all zeros
            }
        }
        return b;
    }

    long version(int index) {
        synchronized (lockFor(index)) {
            return versions[index];
        }
    }

    /** Sets a page's plaintext and version (creation, and the destination after verification). */
    void install(int index, ByteBuffer content, long version, MappedPages osView) {
        synchronized (lockFor(index)) {
            plainPage(index).put(content.duplicate());
            versions[index] = version;
            wiped = false;
            publish(index, osView);
        }
    }

    /**
     * Stages a received page at the destination (the VM is not running): plaintext and version, without publishing
     * the OS view. An older version than the one staged is ignored, so concurrent arrivals cannot go backwards.
     */
    void stage(int index, byte[] content, long version) {
        synchronized (lockFor(index)) {
            if (Long.compareUnsigned(version, versions[index]) > 0) {
                plainPage(index).put(content, 0, PAGE);
                versions[index] = version;
                wiped = false;
            }
        }
    }

    /**
     * The process writes {@code value} at {@code offset} of page {@code index}: the write tracking bumps the version
     * (whatever dom0 does to the dirty bitmap) and the OS view gets the new ciphertext.
     */
    void write(int index, int offset, long value, MappedPages osView) {
        synchronized (lockFor(index)) {
            plainPage(index).putLong(offset, value);
            versions[index]++;
            wiped = false;
            publish(index, osView);
        }
    }

    /** Encrypts page {@code index} under the process key into the guest's (and dom0's) view of memory. */
    private void publish(int index, MappedPages osView) {
        if (osView == null) {
            return;
        }
        long pfn = pfns[index];
        byte[][] buf = osBuffers.get();
        try {
            Cipher c = osCipher.get();
            byte[] iv = ByteBuffer.allocate(16).putLong(pfn).putLong(versions[index]).array();
            SecretKeySpec k = keySpec();
            if (k == null) {
                return; // zeroized: a view encrypted under a wiped (zero) key would show dom0 the plaintext
            }
            c.init(Cipher.ENCRYPT_MODE, k, new IvParameterSpec(iv));
            // arrays, not buffers: the JDK's intrinsic AES-CTR runs on arrays
            chunk(index).get((index % CHUNK_PAGES) * PAGE, buf[0], 0, PAGE);
            c.doFinal(buf[0], 0, PAGE, buf[1], 0);
            osView.page(pfn).put(0, buf[1], 0, PAGE);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encrypt the OS view of pfn " + pfn + ": " + e.getMessage(), e);
        } finally {
            Arrays.fill(buf[0], (byte) 0);
        }
    }

    /** The key as the JDK wants it, or null once zeroized; made under the key's lock, so never from a wiped key. */
    private SecretKeySpec keySpec() {
        SecretKeySpec k = keySpec;
        if (k == null) {
            synchronized (key) {
                if (zeroized) {
                    return null;
                }
                k = keySpec;
                if (k == null) {
                    k = new SecretKeySpec(key, "AES");
                    keySpec = k;
                }
            }
        }
        return k;
    }

    /** Re-publishes every page (after the destination installed verified contents). */
    void publishAll(MappedPages osView) {
        for (int i = 0; i < pfns.length; i++) {
            synchronized (lockFor(i)) {
                publish(i, osView);
            }
        }
    }

    byte[] context(int vcpu) {
        synchronized (contexts[vcpu]) {
            return contexts[vcpu].clone();
        }
    }

    long contextVersion(int vcpu) {
        synchronized (contexts[vcpu]) {
            return contextVersions[vcpu];
        }
    }

    void setContext(int vcpu, byte[] ctx, long version) {
        synchronized (contexts[vcpu]) {
            System.arraycopy(ctx, 0, contexts[vcpu], 0, CONTEXT_BYTES);
            contextVersions[vcpu] = version;
        }
    }

    /** The process runs on {@code vcpu}: its saved registers change. */
    void touchContext(int vcpu, long value) {
        synchronized (contexts[vcpu]) {
            ByteBuffer.wrap(contexts[vcpu]).putLong(8, value);
            contextVersions[vcpu]++;
        }
    }

    int vcpus() {
        return contexts.length;
    }

    byte[] key() {
        synchronized (key) {
            return key.clone();
        }
    }

    void setKey(byte[] k) {
        synchronized (key) {
            System.arraycopy(k, 0, key, 0, key.length);
            keySpec = null;
        }
    }

    /**
     * Overwrites key and contexts now and the plaintext pages soon, on the wiper thread (destination ABORT, source
     * after DONE, destroy). Nothing reads the pages of a zeroized process meanwhile: it has no key and never runs.
     */
    void zeroize() {
        synchronized (key) {
            zeroized = true;
            Arrays.fill(key, (byte) 0);
            keySpec = null;
        }
        for (byte[] c : contexts) {
            synchronized (c) {
                Arrays.fill(c, (byte) 0);
            }
        }
        // a second zeroize (destroy after DONE or ABORT) skips the pages unless something was written since
        if (!wiped) {
            wiped = true;
            WIPER.execute(this::wipePages);
        }
    }

    /**
     * Overwrites every allocated plaintext chunk and hands the full-size ones to {@link FreeChunks}. A chunk leaves
     * this process under every page lock (all {@link #STRIPES} stripes), so no write that raced the zeroize can land
     * in it once it is another process's memory; a late write gets a fresh chunk of this process instead.
     */
    void wipePages() {
        for (int c = 0; c < plain.length(); c++) {
            if (plain.get(c) == null) {
                continue;
            }
            int chunk = c;
            ByteBuffer[] out = new ByteBuffer[1];
            underAllStripes(0, () -> {
                ByteBuffer b = plain.getAndSet(chunk, null);
                if (b != null) {
                    for (int o = 0; o < b.capacity(); o += PAGE) {
                        b.put(o, ZERO_PAGE, 0, PAGE);
                    }
                    out[0] = b;
                }
            });
            if (out[0] != null && out[0].capacity() == CHUNK_PAGES * PAGE) {
                free.give(out[0]);
            }
        }
    }

    private void underAllStripes(int from, Runnable r) {
        if (from == STRIPES) {
            r.run();
            return;
        }
        synchronized (stripes[from]) {
            underAllStripes(from + 1, r);
        }
    }

    boolean zeroized() {
        return zeroized;
    }

    /**
     * The host's scrubbed free plaintext memory: wiped 1 MiB chunks of zeroized processes, up to
     * {@code sealift.sim.free-pool-mib} MiB (default 512; 0 turns it off). Only zeroed chunks go in.
     */
    static final class FreeChunks {

        /** This hypervisor process's pool. */
        static final FreeChunks HOST = new FreeChunks(Integer.getInteger("sealift.sim.free-pool-mib", 512));

        private final int limit;
        private final java.util.concurrent.ConcurrentLinkedDeque<ByteBuffer> chunks =
                new java.util.concurrent.ConcurrentLinkedDeque<>();
        private final java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();

        FreeChunks(int limitMiB) {
            this.limit = Math.max(0, limitMiB);
        }

        ByteBuffer take() {
            ByteBuffer b = chunks.pollFirst();
            if (b != null) {
                count.decrementAndGet();
            }
            return b;
        }

        void give(ByteBuffer zeroed) {
            if (count.incrementAndGet() <= limit) {
                chunks.addFirst(zeroed);
            } else {
                count.decrementAndGet(); // over the limit: the JDK frees it with the buffer
            }
        }

        int size() {
            return count.get();
        }
    }
}
