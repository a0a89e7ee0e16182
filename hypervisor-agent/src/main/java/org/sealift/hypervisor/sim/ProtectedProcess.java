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
 */
final class ProtectedProcess {

    static final int PAGE = MappedPages.PAGE;
    static final int CONTEXT_BYTES = 256;
    private static final int STRIPES = 64;
    private static final byte[] ZERO_PAGE = new byte[PAGE];

    final int processId;
    final String name;
    /** Ascending pfns; index i of every table below refers to pfns[i]. */
    final long[] pfns;
    private final byte[] key;
    private final ByteBuffer plain;
    private final long[] versions;
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
        this.plain = ByteBuffer.allocateDirect(n * PAGE);
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
        return plain.slice(index * PAGE, PAGE);
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
            SecretKeySpec k = keySpec;
            if (k == null) {
                k = new SecretKeySpec(key, "AES");
                keySpec = k;
            }
            c.init(Cipher.ENCRYPT_MODE, k, new IvParameterSpec(iv));
            // arrays, not buffers: the JDK's intrinsic AES-CTR runs on arrays
            plain.get(index * PAGE, buf[0], 0, PAGE);
            c.doFinal(buf[0], 0, PAGE, buf[1], 0);
            osView.page(pfn).put(0, buf[1], 0, PAGE);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encrypt the OS view of pfn " + pfn + ": " + e.getMessage(), e);
        } finally {
            Arrays.fill(buf[0], (byte) 0);
        }
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
        return key.clone();
    }

    void setKey(byte[] k) {
        System.arraycopy(k, 0, key, 0, key.length);
        keySpec = null;
    }

    /** Overwrites key, plaintext and contexts (destination ABORT, source after DONE). */
    void zeroize() {
        zeroized = true;
        Arrays.fill(key, (byte) 0);
        keySpec = null;
        // a second zeroize (destroy after DONE or ABORT) skips the pages unless something was written since
        if (!wiped) {
            wiped = true;
            for (int i = 0; i < pfns.length; i++) {
                synchronized (lockFor(i)) {
                    plain.put(i * PAGE, ZERO_PAGE, 0, PAGE);
                }
            }
        }
        for (byte[] c : contexts) {
            synchronized (c) {
                Arrays.fill(c, (byte) 0);
            }
        }
    }

    boolean zeroized() {
        return zeroized;
    }
}
