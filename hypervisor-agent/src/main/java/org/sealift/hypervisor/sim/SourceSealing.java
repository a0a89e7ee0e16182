package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

import org.sealift.agent.sim.MappedPages;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.SealKind;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;

/**
 * The source hypervisor's sealing for one secure migration (docs/protocol.md §4.2.1): AES-256-GCM under the session's
 * sealing key, nonce = prefix(kind) ‖ a per-session 64-bit counter, AAD = kind ‖ migration id ‖ VM id ‖ process ‖
 * target ‖ version; one sealing per version.
 *
 * <p>The latest SEALED record of every protected page lives in a slot of a file in guest-memory storage (tmpfs), not
 * on the Java heap: sealing writes the record straight into its slot, a re-send of the same version reads it from
 * there, and dom0's agent reads the records it forwards from that file instead of through the privileged socket. The
 * file holds ciphertext only, which dom0 forwards anyway (G1); its plaintext and the key never leave this process.
 * What the MANIFEST needs of each sealing (version and tag) goes into a {@link ManifestTable} as it is made, so
 * sealing the MANIFEST while the VM is paused only covers what changed since the last round.
 *
 * <p>A closed session's slot file is kept, mapped, as the host's spare ({@link SpareSlots}) and taken over by its
 * next migration of a similar size: the tmpfs pages it occupies need not be freed and allocated again (a first touch
 * of each 4 KiB costs a page fault, about as much as sealing it). It holds ciphertext of ended sessions only, which
 * dom0 saw already, and a new session names to dom0 only slots it sealed itself.
 *
 * <p>Thread-safety: a page's slot is written under that page's lock in its process ({@link ProtectedProcess#lockFor});
 * contexts under this object's lock.
 */
final class SourceSealing implements AutoCloseable {

    /** One page record: 16-octet record header ‖ 4144-octet SEALED body (a multiple of 8: no padding). */
    static final int PAGE_RECORD = RecordEncoder.encodedLength(SealedBlob.PAGE_BODY_LENGTH);
    /** Slots per 1 GiB mapping chunk; no slot crosses a chunk. */
    private static final int SLOTS_PER_CHUNK = (MappedPages.CHUNK_PAGES * MappedPages.PAGE) / PAGE_RECORD;
    private static final long CHUNK_BYTES = (long) MappedPages.CHUNK_PAGES * MappedPages.PAGE;
    /** The counter value never used (protocol.md §4.2.1: it would be the wrap-around point). */
    private static final long LAST = -1L;

    private final SecretKey key;
    private final byte[] sessionPart;
    private final AtomicLong next = new AtomicLong();
    private final ThreadLocal<Cipher> cipher = ThreadLocal.withInitial(SourceSealing::newCipher);
    private final ThreadLocal<byte[]> aad = ThreadLocal.withInitial(() -> new byte[53]);
    private final ThreadLocal<byte[]> nonce = ThreadLocal.withInitial(() -> new byte[12]);
    /** Per thread: a page's plaintext and its record, so the JDK's AES-GCM runs on arrays (its fast path). */
    private final ThreadLocal<byte[]> plainPage = ThreadLocal.withInitial(() -> new byte[Domain.PAGE]);
    private final ThreadLocal<byte[]> pageRecord = ThreadLocal.withInitial(() -> new byte[PAGE_RECORD]);

    final Path file;
    private final MappedPages slots;
    private final ByteBuffer[] chunks;
    /** Per process (index in the domain) the first slot of its pages. */
    private final int[] firstSlot;
    /** Per process, per page: the version last sealed, 0 = never. Guarded by the page's lock. */
    final long[][] sealedVersions;
    final ManifestTable table;
    /** (process id, vCPU) → the latest sealed context record. Guarded by {@code this}. */
    private final Map<Long, byte[]> contexts = new HashMap<>();
    private final Map<Long, Long> contextVersions = new HashMap<>();
    private volatile boolean closed;

    SourceSealing(SecretKey sealingKey, MigrationId migrationId, UUID vmId, List<ProtectedProcess> processes,
            Path file) throws IOException {
        this.key = sealingKey;
        this.sessionPart = ByteBuffer.allocate(32).put(migrationId.bytes()).putLong(vmId.getMostSignificantBits())
                .putLong(vmId.getLeastSignificantBits()).array();
        this.firstSlot = new int[processes.size()];
        this.sealedVersions = new long[processes.size()][];
        int total = 0;
        for (int i = 0; i < processes.size(); i++) {
            firstSlot[i] = total;
            sealedVersions[i] = new long[processes.get(i).pageCount()];
            total += processes.get(i).pageCount();
        }
        this.table = new ManifestTable(migrationId, vmId, processes);
        this.file = file;
        int nChunks = Math.max(1, (total + SLOTS_PER_CHUNK - 1) / SLOTS_PER_CHUNK);
        long lastChunkSlots = total - (long) (nChunks - 1) * SLOTS_PER_CHUNK;
        long bytes = (nChunks - 1) * CHUNK_BYTES + lastChunkSlots * PAGE_RECORD;
        long pages = Math.max(1, (bytes + MappedPages.PAGE - 1) / MappedPages.PAGE);
        this.slots = SpareSlots.take(file, pages);
        this.chunks = new ByteBuffer[nChunks];
        for (int c = 0; c < nChunks; c++) {
            long first = (long) c * MappedPages.CHUNK_PAGES;
            chunks[c] = slots.slice(first, (int) Math.min(MappedPages.CHUNK_PAGES, pages - first));
        }
    }

    private static Cipher newCipher() {
        try {
            // the JDK provider by name (AES-NI / CLMUL intrinsics), even if BouncyCastle was registered first
            return Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no SunJCE AES/GCM; Sealift needs a standard JDK 17+", e);
        }
    }

    /** Position of page {@code index} of process {@code processIndex}'s slot in {@link #file}. */
    long position(int processIndex, int index) {
        int slot = firstSlot[processIndex] + index;
        return (slot / SLOTS_PER_CHUNK) * CHUNK_BYTES + (long) (slot % SLOTS_PER_CHUNK) * PAGE_RECORD;
    }

    private ByteBuffer slot(int processIndex, int index) {
        int slot = firstSlot[processIndex] + index;
        return chunks[slot / SLOTS_PER_CHUNK].slice((slot % SLOTS_PER_CHUNK) * PAGE_RECORD, PAGE_RECORD);
    }

    /**
     * Makes sure the slot of page {@code index} of {@code p} holds the sealing of its current version: seals it if
     * the version changed since its last sealing (a new counter value), else leaves the slot as it is (one sealing per
     * version). The caller holds {@code p.lockFor(index)}, so the version is the version of exactly these contents.
     *
     * @return the version the slot holds
     */
    long sealPage(int processIndex, ProtectedProcess p, int index) throws ProtocolException {
        long version = p.version(index);
        long[] sealed = sealedVersions[processIndex];
        if (sealed[index] == version) {
            return version;
        }
        if (version == 0) {
            throw new IllegalStateException("pfn " + p.pfns[index] + " has version 0; versions start at 1");
        }
        if (closed) {
            throw new IllegalStateException("the sealing of this migration was closed");
        }
        byte[] plain = plainPage.get();
        byte[] record = pageRecord.get();
        try {
            p.plainPage(index).get(0, plain);
            seal(SealKind.PAGE, p.processId, p.pfns[index], version, plain, record);
        } finally {
            java.util.Arrays.fill(plain, (byte) 0);
        }
        slot(processIndex, index).put(0, record, 0, PAGE_RECORD);
        sealed[index] = version;
        table.page(processIndex, index, version, ByteBuffer.wrap(record), PAGE_RECORD - SealedBlob.TAG_LENGTH);
        return version;
    }

    /** Whether the slot of page {@code index} holds the sealing of its current version (caller holds its lock). */
    boolean sealedAtCurrentVersion(int processIndex, ProtectedProcess p, int index) {
        return sealedVersions[processIndex][index] == p.version(index);
    }

    /** Whether the context of {@code p} on {@code vcpu} has a sealing of its current version. */
    synchronized boolean contextSealedAtCurrentVersion(ProtectedProcess p, int vcpu) {
        Long v = contextVersions.get(contextKey(p, vcpu));
        return v != null && v == p.contextVersion(vcpu);
    }

    private static long contextKey(ProtectedProcess p, int vcpu) {
        return (Integer.toUnsignedLong(p.processId) << 32) | vcpu;
    }

    /** The latest sealed context record (record header included) of {@code p} on {@code vcpu} at its version. */
    synchronized byte[] sealContext(int processIndex, ProtectedProcess p, int vcpu) throws ProtocolException {
        long version = p.contextVersion(vcpu);
        long k = contextKey(p, vcpu);
        byte[] have = contexts.get(k);
        if (have != null && contextVersions.get(k) == version) {
            return have;
        }
        byte[] ctx = p.context(vcpu);
        try {
            int body = SealedBlob.HEADER_LENGTH + ctx.length + SealedBlob.TAG_LENGTH;
            byte[] rec = new byte[RecordEncoder.encodedLength(body)];
            seal(SealKind.VCPU, p.processId, vcpu, version, ctx, rec);
            contexts.put(k, rec);
            contextVersions.put(k, version);
            table.context(processIndex, vcpu, version, ByteBuffer.wrap(rec), RecordEncoder.HEADER_LENGTH + body
                    - SealedBlob.TAG_LENGTH);
            return rec;
        } finally {
            java.util.Arrays.fill(ctx, (byte) 0);
        }
    }

    /**
     * Writes one complete SEALED record (header, body, padding) into {@code record} from offset 0: the plaintext is
     * all of {@code plain}; {@code record} has room for the record.
     */
    private void seal(SealKind kind, int processId, long target, long version, byte[] plain, byte[] record)
            throws ProtocolException {
        int length = plain.length;
        int body = SealedBlob.HEADER_LENGTH + length + SealedBlob.TAG_LENGTH;
        long counter = takeCounter();
        ByteBuffer out = ByteBuffer.wrap(record);
        RecordEncoder.writeHeader(out, RecordType.SEALED, 0, body);
        out.put((byte) kind.wire()).put((byte) 0).putShort((short) 0).putInt(processId).putLong(counter)
                .putLong(target).putLong(version);
        byte[] n = nonce.get();
        ByteBuffer.wrap(n).putInt(kind.noncePrefix()).putLong(counter);
        byte[] a = aad.get();
        ByteBuffer.wrap(a).put((byte) kind.wire()).put(sessionPart).putInt(processId).putLong(target).putLong(version);
        Cipher c = cipher.get();
        try {
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, n));
            c.updateAAD(a);
            c.doFinal(plain, 0, length, record, out.position());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot seal " + kind + " " + target + " (was the session closed?): "
                    + e.getMessage(), e);
        }
        out.position(RecordEncoder.HEADER_LENGTH + body);
        RecordEncoder.writePadding(out, body);
    }

    private long takeCounter() throws ProtocolException {
        while (true) {
            long c = next.get();
            if (c == LAST) {
                throw new ProtocolException(ProtocolException.Reason.EXHAUSTED, "the seal counter of this migration is"
                        + " used up (2^64-1 sealings); abort and migrate again with a new handshake");
            }
            if (next.compareAndSet(c, c + 1)) {
                return c;
            }
        }
    }

    /** Sealings performed so far (re-sends do not count). */
    long sealings() {
        return next.get();
    }

    /**
     * Ends the session: nothing more is sealed, and its slot file leaves its name (the migration ended; it held
     * ciphertext only). The file becomes the host's spare, or is unmapped and deleted off the caller's path.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        contexts.clear();
        SpareSlots.give(file, slots);
    }

    boolean closed() {
        return closed;
    }

    /**
     * At most one spare slot file per memory directory (per host), mapped read-write, under a name no session uses.
     * A session takes it if it is at least as large as it needs and not more than twice that (a large spare is not
     * kept busy by a small VM); otherwise it creates its own file. Unmapping and deleting a file that is not kept
     * runs on a background thread: for a large VM the kernel frees hundreds of megabytes.
     */
    static final class SpareSlots {

        static final String SPARE_NAME = "spare-slots.sealed";
        private static final Map<Path, MappedPages> SPARES = new HashMap<>();

        private SpareSlots() {
        }

        static MappedPages take(Path file, long pages) throws IOException {
            Path dir = file.toAbsolutePath().normalize().getParent();
            MappedPages spare;
            synchronized (SPARES) {
                spare = SPARES.get(dir);
                if (spare != null && spare.pageCount() >= pages && spare.pageCount() <= 2 * pages) {
                    SPARES.remove(dir);
                } else {
                    spare = null;
                }
            }
            if (spare != null) {
                try {
                    Files.move(dir.resolve(SPARE_NAME), file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    return spare;
                } catch (IOException e) {
                    // dom0 removed or replaced it: start afresh
                    spare.close();
                }
            }
            Files.deleteIfExists(file);
            return MappedPages.map(file, pages, true, true);
        }

        /** Unmaps and deletes the spare of {@code dir}, if any (the host shuts down). */
        static void discard(Path dir) {
            MappedPages spare;
            synchronized (SPARES) {
                spare = SPARES.remove(dir.toAbsolutePath().normalize());
            }
            if (spare != null) {
                spare.close();
                try {
                    Files.deleteIfExists(dir.resolve(SPARE_NAME));
                } catch (IOException e) {
                    // a leftover in the memory directory is removed at the next boot
                }
            }
        }

        /**
         * Keeps {@code slots} as the spare of its directory. It replaces an earlier spare (released off the caller's
         * path): the latest session's size is the best guess of the next one's, and a spare left by a smaller VM (a
         * warm-up, a test) must not keep every larger migration after it on fresh, page-faulting files.
         */
        static void give(Path file, MappedPages slots) {
            Path dir = file.toAbsolutePath().normalize().getParent();
            MappedPages replaced = null;
            boolean kept = false;
            synchronized (SPARES) {
                try {
                    Files.move(file, dir.resolve(SPARE_NAME), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    replaced = SPARES.put(dir, slots);
                    kept = true;
                } catch (IOException e) {
                    // not kept: released below; an earlier spare stays
                }
            }
            if (replaced != null) {
                MappedPages old = replaced;
                Domain.releaseLater(old::close); // its name now belongs to the new spare
            }
            if (!kept) {
                Domain.releaseLater(() -> {
                    slots.close();
                    try {
                        Files.deleteIfExists(file);
                    } catch (IOException e) {
                        // a leftover in the memory directory is removed at the next boot
                    }
                });
            }
        }
    }
}
