package org.sealift.protocol.seal;

import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.wire.PageBatch;

/**
 * Source-hypervisor side of page and vCPU-context sealing (docs/protocol.md §4.2.1). Hypervisor-only: it holds the
 * sealing key and sees plaintext.
 *
 * <ul>
 * <li>One 64-bit seal counter per session feeds every nonce; the kind's prefix keeps pages and contexts apart. Before
 * the counter could reach 2^64−1 sealing stops with EXHAUSTED, so no (key, nonce) pair ever repeats.</li>
 * <li>One sealing per version: the latest sealed blob of every pfn and every (process, vCPU) is kept, and asking
 * again for the same version returns it unchanged. The caller (the hypervisor's write tracking) must give a new,
 * higher version whenever the contents changed.</li>
 * <li>Fast path ({@link #sealPageInto}): one {@link Cipher} per thread, the JDK writes ciphertext ‖ tag straight
 * into the caller's buffer, and the cache copies it into a per-pfn buffer reused for every version, so steady-state
 * sealing allocates no page-sized arrays.</li>
 * </ul>
 * Thread-safe.
 */
public final class Sealer {

    /** The counter value that is never used (it would be the wrap-around point). */
    private static final long LAST = -1L;

    private final SecretKey key;
    private final MigrationId migrationId;
    private final UUID vmId;
    private final byte[] sessionPart;
    private final AtomicLong next;
    private final ThreadLocal<Cipher> cipher = ThreadLocal.withInitial(SealCrypto::newCipher);
    private final ConcurrentHashMap<Long, Slot> pages = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Slot> contexts = new ConcurrentHashMap<>();
    private volatile boolean frozen;

    /**
     * @param sealingKey  the session's source→destination sealing key (AES-256)
     * @param migrationId the session's migration id
     * @param vmId        the VM being migrated
     */
    public Sealer(SecretKey sealingKey, MigrationId migrationId, UUID vmId) {
        this(sealingKey, migrationId, vmId, 0);
    }

    /** Starts the counter at {@code firstCounter}: only for tests of the exhaustion limit. */
    Sealer(SecretKey sealingKey, MigrationId migrationId, UUID vmId, long firstCounter) {
        this.key = Objects.requireNonNull(sealingKey, "sealingKey");
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
        this.vmId = Objects.requireNonNull(vmId, "vmId");
        this.sessionPart = SealCrypto.sessionPart(migrationId, vmId);
        this.next = new AtomicLong(firstCounter);
    }

    /**
     * Seals protected page {@code pfn} of process {@code processId} at {@code version}, or returns the sealing already
     * made for that version.
     *
     * @param page the plaintext, {@link PageBatch#PAGE_SIZE} octets from {@code offset}
     */
    public SealedBlob sealPage(int processId, long pfn, long version, byte[] page, int offset)
            throws ProtocolException {
        byte[] body = new byte[SealedBlob.PAGE_BODY_LENGTH];
        sealPageInto(processId, pfn, version, page, offset, body, 0);
        return blobOf(body);
    }

    /**
     * The fast path: writes the SEALED record body of page {@code pfn} at {@code version} ({@link
     * SealedBlob#PAGE_BODY_LENGTH} octets) straight into {@code out} at {@code outOffset}, e.g. the agent's send
     * buffer. A new version is encrypted directly into {@code out}; a version already sealed is copied from the cache.
     *
     * @return the number of octets written ({@link SealedBlob#PAGE_BODY_LENGTH})
     */
    public int sealPageInto(int processId, long pfn, long version, byte[] page, int offset, byte[] out,
            int outOffset) throws ProtocolException {
        if (pfn < 0 || pfn > PageBatch.MAX_PFN) {
            throw new IllegalArgumentException("pfn " + pfn + " is outside 0.." + PageBatch.MAX_PFN);
        }
        Objects.checkFromIndexSize(offset, PageBatch.PAGE_SIZE, page.length);
        Objects.checkFromIndexSize(outOffset, SealedBlob.PAGE_BODY_LENGTH, out.length);
        return sealInto(pages, pfn, SealKind.PAGE, processId, pfn, version, page, offset, PageBatch.PAGE_SIZE, out,
                outOffset);
    }

    /**
     * Seals the saved vCPU context of protected process {@code processId} on vCPU {@code vcpuId} at {@code version},
     * or returns the sealing already made for that version.
     *
     * @param context 8..65536 octets, a multiple of 8
     */
    public SealedBlob sealVcpu(int processId, int vcpuId, long version, byte[] context) throws ProtocolException {
        if (context.length < 8 || context.length > SealedBlob.MAX_CONTEXT_LENGTH || context.length % 8 != 0) {
            throw new IllegalArgumentException("a vCPU context is 8.." + SealedBlob.MAX_CONTEXT_LENGTH
                    + " octets, a multiple of 8; got " + context.length);
        }
        long cacheKey = (Integer.toUnsignedLong(processId) << 32) | Integer.toUnsignedLong(vcpuId);
        Slot slot = contexts.computeIfAbsent(cacheKey, k -> new Slot());
        synchronized (slot) {
            int length = slot.body != null && slot.version == version ? slot.body.length
                    : SealedBlob.HEADER_LENGTH + context.length + SealedBlob.TAG_LENGTH;
            byte[] body = new byte[length];
            sealInto(slot, SealKind.VCPU, processId, Integer.toUnsignedLong(vcpuId), version, context, 0,
                    context.length, body, 0);
            return blobOf(body);
        }
    }

    private int sealInto(ConcurrentHashMap<Long, Slot> cache, long cacheKey, SealKind kind, int processId,
            long target, long version, byte[] plain, int offset, int length, byte[] out, int outOffset)
            throws ProtocolException {
        Slot slot = cache.computeIfAbsent(cacheKey, k -> new Slot());
        synchronized (slot) {
            return sealInto(slot, kind, processId, target, version, plain, offset, length, out, outOffset);
        }
    }

    /** Caller holds the slot's lock. */
    private int sealInto(Slot slot, SealKind kind, int processId, long target, long version, byte[] plain,
            int offset, int length, byte[] out, int outOffset) throws ProtocolException {
        if (version == 0) {
            throw new IllegalArgumentException("versions start at 1");
        }
        if (slot.body != null) {
            if (slot.processId != processId) {
                throw new IllegalArgumentException(kind + " " + target + " was sealed for process "
                        + Integer.toUnsignedString(slot.processId) + ", now asked for process "
                        + Integer.toUnsignedString(processId));
            }
            int cmp = Long.compareUnsigned(version, slot.version);
            if (cmp == 0) {
                // one sealing per version: a re-send reuses it, no new nonce is spent
                System.arraycopy(slot.body, 0, out, outOffset, slot.body.length);
                return slot.body.length;
            }
            if (cmp < 0) {
                throw new IllegalArgumentException(kind + " " + target + " version "
                        + Long.toUnsignedString(version) + " is older than the sealed version "
                        + Long.toUnsignedString(slot.version) + ": versions only grow");
            }
        }
        if (frozen) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "the MANIFEST of migration " + migrationId
                    + " is sealed: the protected processes are frozen and nothing more is sealed (asked for "
                    + kind + " " + target + " version " + Long.toUnsignedString(version) + ")");
        }
        long counter = takeCounter();
        int bodyLength = SealedBlob.HEADER_LENGTH + length + SealedBlob.TAG_LENGTH;
        SealedBlob.writeHeader(out, outOffset, kind, processId, counter, target, version);
        Cipher c = cipher.get();
        try {
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(SealCrypto.TAG_BITS, SealCrypto.nonce(kind, counter)));
            c.updateAAD(SealCrypto.aad(kind, sessionPart, processId, target, version));
            c.doFinal(plain, offset, length, out, outOffset + SealedBlob.HEADER_LENGTH);
        } catch (GeneralSecurityException e) {
            // a destroyed session key or a broken JDK: a bug, not an attack
            throw new IllegalStateException("cannot seal " + kind + " " + target + " of migration " + migrationId
                    + " (was the session closed?): " + e.getMessage(), e);
        }
        if (slot.body == null || slot.body.length != bodyLength) {
            slot.body = new byte[bodyLength];
        }
        // the cache keeps its own copy in a per-pfn buffer that is reused for every later version
        System.arraycopy(out, outOffset, slot.body, 0, bodyLength);
        slot.processId = processId;
        slot.version = version;
        return bodyLength;
    }

    private static SealedBlob blobOf(byte[] body) {
        try {
            return SealedBlob.decode(body);
        } catch (ProtocolException e) {
            throw new IllegalStateException("the sealer produced a malformed SEALED body: " + e.getMessage(), e);
        }
    }

    private long takeCounter() throws ProtocolException {
        while (true) {
            long c = next.get();
            if (c == LAST) {
                throw new ProtocolException(Reason.EXHAUSTED, "the seal counter of migration " + migrationId
                        + " is used up (2^64-1 sealings); abort and migrate again with a new handshake");
            }
            if (next.compareAndSet(c, c + 1)) {
                return c;
            }
        }
    }

    /** Sealings performed so far (re-sends from the cache do not count). */
    public long sealings() {
        return next.get();
    }

    /** The latest sealed blob of {@code pfn}, or null. */
    public SealedBlob latestPage(long pfn) {
        Slot slot = pages.get(pfn);
        if (slot == null) {
            return null;
        }
        synchronized (slot) {
            return slot.body == null ? null : blobOf(slot.body.clone());
        }
    }

    /**
     * Freezes this sealer and builds the MANIFEST from the latest sealing of every page and context. Call it with the
     * VM paused, after the final version of every protected page and context has been sealed: the manifest names
     * exactly what was sealed. Every process that has sealed pages or contexts needs its key in {@code processKeys};
     * processes with a key but nothing sealed are listed with empty tables.
     */
    public Manifest buildManifest(Map<Integer, byte[]> processKeys) {
        frozen = true;
        Manifest.Builder b = Manifest.builder(migrationId, vmId);
        for (var e : processKeys.entrySet()) {
            b.process(e.getKey(), e.getValue());
        }
        for (Slot slot : pages.values()) {
            SealedBlob s = slot.snapshot();
            if (s != null) {
                b.process(s.processId(), keyOf(processKeys, s)).page(s.target(), s.version(), s.tag());
            }
        }
        for (Slot slot : contexts.values()) {
            SealedBlob s = slot.snapshot();
            if (s != null) {
                b.process(s.processId(), keyOf(processKeys, s)).context((int) s.target(), s.version(), s.tag());
            }
        }
        return b.build();
    }

    private static byte[] keyOf(Map<Integer, byte[]> keys, SealedBlob s) {
        byte[] k = keys.get(s.processId());
        if (k == null) {
            throw new IllegalArgumentException("no key for process " + Integer.toUnsignedString(s.processId())
                    + ", which has sealed " + s.kind() + " " + s.target());
        }
        return k;
    }

    /** True once the manifest was built. */
    public boolean isFrozen() {
        return frozen;
    }

    /** Drops the cached blobs (ciphertext only) when the migration ends. */
    public void clear() {
        pages.clear();
        contexts.clear();
    }

    /** The latest sealing of one pfn or (process, vCPU); guarded by its own lock. */
    private static final class Slot {
        int processId;
        long version;
        byte[] body;

        synchronized SealedBlob snapshot() {
            return body == null ? null : blobOf(body.clone());
        }
    }
}
