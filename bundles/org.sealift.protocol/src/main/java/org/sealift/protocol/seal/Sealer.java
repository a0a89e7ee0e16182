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
 * <li>Fast path: one {@link Cipher} per thread, and the JDK writes ciphertext ‖ tag straight into the record body.</li>
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
    private final ConcurrentHashMap<Long, SealedBlob> pages = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, SealedBlob> contexts = new ConcurrentHashMap<>();
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
     * Seals protected page {@code pfn} of process {@code processId} at {@code version}, or returns the blob already
     * sealed for that version.
     *
     * @param page   the plaintext, {@link PageBatch#PAGE_SIZE} octets from {@code offset}
     */
    public SealedBlob sealPage(int processId, long pfn, long version, byte[] page, int offset)
            throws ProtocolException {
        if (pfn < 0 || pfn > PageBatch.MAX_PFN) {
            throw new IllegalArgumentException("pfn " + pfn + " is outside 0.." + PageBatch.MAX_PFN);
        }
        Objects.checkFromIndexSize(offset, PageBatch.PAGE_SIZE, page.length);
        return cached(pages, pfn, SealKind.PAGE, processId, pfn, version, page, offset, PageBatch.PAGE_SIZE);
    }

    /**
     * Seals the saved vCPU context of protected process {@code processId} on vCPU {@code vcpuId} at {@code version},
     * or returns the blob already sealed for that version.
     *
     * @param context 8..65536 octets, a multiple of 8
     */
    public SealedBlob sealVcpu(int processId, int vcpuId, long version, byte[] context) throws ProtocolException {
        if (context.length < 8 || context.length > SealedBlob.MAX_CONTEXT_LENGTH || context.length % 8 != 0) {
            throw new IllegalArgumentException("a vCPU context is 8.." + SealedBlob.MAX_CONTEXT_LENGTH
                    + " octets, a multiple of 8; got " + context.length);
        }
        long cacheKey = (Integer.toUnsignedLong(processId) << 32) | Integer.toUnsignedLong(vcpuId);
        return cached(contexts, cacheKey, SealKind.VCPU, processId, Integer.toUnsignedLong(vcpuId), version,
                context, 0, context.length);
    }

    private SealedBlob cached(ConcurrentHashMap<Long, SealedBlob> cache, long cacheKey, SealKind kind,
            int processId, long target, long version, byte[] plain, int offset, int length) throws ProtocolException {
        if (version == 0) {
            throw new IllegalArgumentException("versions start at 1");
        }
        if (frozen) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "the MANIFEST of migration " + migrationId
                    + " is sealed: the protected processes are frozen and nothing more is sealed (asked for "
                    + kind + " " + target + " version " + Long.toUnsignedString(version) + ")");
        }
        try {
            return cache.compute(cacheKey, (k, old) -> {
                if (old != null) {
                    if (old.processId() != processId) {
                        throw new IllegalArgumentException(kind + " " + target + " was sealed for process "
                                + Integer.toUnsignedString(old.processId()) + ", now asked for process "
                                + Integer.toUnsignedString(processId));
                    }
                    int cmp = Long.compareUnsigned(version, old.version());
                    if (cmp == 0) {
                        return old; // one sealing per version: a re-send reuses it
                    }
                    if (cmp < 0) {
                        throw new IllegalArgumentException(kind + " " + target + " version "
                                + Long.toUnsignedString(version) + " is older than the sealed version "
                                + Long.toUnsignedString(old.version()) + ": versions only grow");
                    }
                }
                try {
                    return seal(kind, processId, target, version, plain, offset, length);
                } catch (ProtocolException e) {
                    throw new Wrapped(e);
                }
            });
        } catch (Wrapped w) {
            throw w.cause;
        }
    }

    private SealedBlob seal(SealKind kind, int processId, long target, long version, byte[] plain, int offset,
            int length) throws ProtocolException {
        long counter = takeCounter();
        byte[] body = new byte[SealedBlob.HEADER_LENGTH + length + SealedBlob.TAG_LENGTH];
        SealedBlob.writeHeader(body, kind, processId, counter, target, version);
        Cipher c = cipher.get();
        try {
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(SealCrypto.TAG_BITS, SealCrypto.nonce(kind, counter)));
            c.updateAAD(SealCrypto.aad(kind, sessionPart, processId, target, version));
            c.doFinal(plain, offset, length, body, SealedBlob.HEADER_LENGTH);
        } catch (GeneralSecurityException e) {
            // a destroyed session key or a broken JDK: a bug, not an attack
            throw new IllegalStateException("cannot seal " + kind + " " + target + " of migration " + migrationId
                    + " (was the session closed?): " + e.getMessage(), e);
        }
        return SealedBlob.ofSealed(body, kind, processId, counter, target, version);
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
        return pages.get(pfn);
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
        for (SealedBlob s : pages.values()) {
            b.process(s.processId(), keyOf(processKeys, s)).page(s.target(), s.version(), s.tag());
        }
        for (SealedBlob s : contexts.values()) {
            b.process(s.processId(), keyOf(processKeys, s)).context((int) s.target(), s.version(), s.tag());
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

    /** Carries a checked exception out of {@link ConcurrentHashMap#compute}. */
    private static final class Wrapped extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient ProtocolException cause;

        Wrapped(ProtocolException cause) {
            super(cause);
            this.cause = cause;
        }
    }
}
