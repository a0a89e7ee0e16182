package org.sealift.agent.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import org.sealift.agent.spi.SealedBatch;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.wire.RecordEncoder;

/**
 * dom0's read-only mapping of a source hypervisor's sealed-page slots: the hypervisor seals each protected page into
 * a fixed slot of a file in guest-memory storage and answers a sealing request with where the records are, so the
 * records themselves never cross the privileged socket. They are ciphertext, which dom0 forwards anyway. A batch
 * handed to the engine is a copy: a later sealing of the same page (a new version) never changes a batch already
 * given out. The copies' buffers are lent: a released batch's buffer serves a later one, so a migration does not
 * allocate (and the JVM zero) a fresh buffer for every 128 sealed pages — a quarter of a GiB of garbage per GiB of
 * protected memory, which cost the agent more CPU than the copying itself.
 */
final class SealedSlotReader implements AutoCloseable {

    static final int PAGE_RECORD = RecordEncoder.encodedLength(SealedBlob.PAGE_BODY_LENGTH);

    /** Buffers kept for reuse; more batches than this in flight get fresh ones. */
    static final int POOLED = 8;
    private static final int TYPICAL_PAGES = 128;

    private Path path;
    private MappedPages map;
    private final java.util.concurrent.ConcurrentLinkedDeque<ByteBuffer> pool =
            new java.util.concurrent.ConcurrentLinkedDeque<>();

    /** The records at {@code positions} of {@code file}, back to back, as the batch the SPI returns. */
    synchronized SealedBatch copy(String file, long[] ids, long[] versions, long[] positions) throws IOException {
        int n = ids.length;
        if (versions.length != n || positions.length != n) {
            throw new IOException("the hypervisor named " + positions.length + " slots for " + n + " pages");
        }
        MappedPages m = mapping(Path.of(file));
        ByteBuffer out = borrow(n * PAGE_RECORD);
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        int i = 0;
        while (i < n) {
            // slots of consecutive pfns are usually consecutive: copy each run at once
            int j = i + 1;
            while (j < n && positions[j] == positions[j - 1] + PAGE_RECORD && j - i < 256) {
                j++;
            }
            try {
                out.put(m.bytes(positions[i], (j - i) * PAGE_RECORD));
            } catch (IndexOutOfBoundsException e) {
                // a run crossing a mapping chunk: the hypervisor never puts one slot across two, so copy one by one
                for (int k = i; k < j; k++) {
                    out.put(m.bytes(positions[k], PAGE_RECORD));
                }
            }
            for (int k = i; k < j; k++) {
                offsets[k] = (k) * PAGE_RECORD;
                lengths[k] = PAGE_RECORD;
            }
            i = j;
        }
        out.flip();
        return new SealedBatch(SealedBatch.Kind.PAGE, ids, versions, offsets, lengths, out, () -> giveBack(out));
    }

    /** A pooled buffer with room for {@code bytes}, cleared, or a new one. */
    private ByteBuffer borrow(int bytes) {
        for (var it = pool.iterator(); it.hasNext();) {
            ByteBuffer b = it.next();
            if (b.capacity() >= bytes && pool.remove(b)) {
                return b.clear().limit(bytes);
            }
        }
        // one size for the usual requests (the engine asks for 128 pages), so pooled buffers fit the next one
        return ByteBuffer.allocate(Math.max(bytes, TYPICAL_PAGES * PAGE_RECORD)).limit(bytes);
    }

    private void giveBack(ByteBuffer b) {
        if (pool.size() < POOLED) {
            pool.addFirst(b);
        }
    }

    /** Buffers waiting for reuse (for tests). */
    int pooled() {
        return pool.size();
    }

    private MappedPages mapping(Path file) throws IOException {
        if (map == null || !file.equals(path)) {
            close();
            long size = Files.size(file);
            if (size % MappedPages.PAGE != 0) {
                throw new IOException("the sealed-page slot file " + file + " is " + size + " bytes, not whole pages");
            }
            map = MappedPages.map(file, size / MappedPages.PAGE, false, false);
            path = file;
        }
        return map;
    }

    /** Unmaps (the session ended); a later request maps the file again. */
    @Override
    public synchronized void close() {
        if (map != null) {
            map.close();
            map = null;
            path = null;
        }
    }
}
