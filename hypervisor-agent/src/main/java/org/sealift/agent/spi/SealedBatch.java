package org.sealift.agent.spi;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sealed page or vCPU-context records made by the source hypervisor, back to back in one buffer, each a complete
 * SEALED record as docs/protocol.md frames it (ready to write to the stream unchanged). Per record the public header
 * fields are exposed (kind, pfn or vCPU id, version); the ciphertext and tag are opaque: only the destination
 * hypervisor holds the sealing key.
 *
 * <p>A backend may lend the buffer: once the caller has written the records out it calls {@link #release()}, after
 * which the batch must not be read again (the backend reuses the memory for a later batch). A batch that is never
 * released is simply garbage collected; callers that keep records (attack tooling, tests) never release.
 */
public final class SealedBatch {

    /** What a sealed record carries. */
    public enum Kind {
        PAGE, VCPU
    }

    private final Kind kind;
    private final long[] ids;
    private final long[] versions;
    private final int[] offsets;
    private final int[] lengths;
    private final ByteBuffer records;
    private final AtomicReference<Runnable> release;

    /**
     * @param ids     pfn (pages) or vCPU id per record
     * @param offsets start of each record in {@code records} (relative to its position 0)
     */
    public SealedBatch(Kind kind, long[] ids, long[] versions, int[] offsets, int[] lengths, ByteBuffer records) {
        this(kind, ids, versions, offsets, lengths, records, null);
    }

    /**
     * @param release run once by {@link #release()}: gives {@code records}' memory back to the backend that lent it
     */
    public SealedBatch(Kind kind, long[] ids, long[] versions, int[] offsets, int[] lengths, ByteBuffer records,
            Runnable release) {
        this.release = new AtomicReference<>(release);
        this.kind = Objects.requireNonNull(kind, "kind");
        int n = ids.length;
        if (versions.length != n || offsets.length != n || lengths.length != n) {
            throw new IllegalArgumentException("sealed batch arrays differ in length");
        }
        for (int i = 0; i < n; i++) {
            if (offsets[i] < 0 || lengths[i] < 0 || (long) offsets[i] + lengths[i] > records.remaining()) {
                throw new IllegalArgumentException("sealed record " + i + " lies outside the batch buffer");
            }
        }
        this.ids = ids.clone();
        this.versions = versions.clone();
        this.offsets = offsets.clone();
        this.lengths = lengths.clone();
        this.records = records.slice().asReadOnlyBuffer();
    }

    public Kind kind() {
        return kind;
    }

    public int count() {
        return ids.length;
    }

    /** pfn (pages) or vCPU id of record {@code i}. */
    public long id(int i) {
        return ids[i];
    }

    /** The 64-bit version the hypervisor sealed for record {@code i}. */
    public long version(int i) {
        return versions[i];
    }

    /** Record {@code i} as a read-only view. */
    public ByteBuffer record(int i) {
        return records.slice(offsets[i], lengths[i]);
    }

    /** All records back to back, read-only (write it to the stream in one go). */
    public ByteBuffer records() {
        return records.duplicate();
    }

    public int byteLength() {
        return records.remaining();
    }

    /** The caller is done with this batch (it wrote the records out): its buffer may be reused. Idempotent. */
    public void release() {
        Runnable r = release.getAndSet(null);
        if (r != null) {
            r.run();
        }
    }
}
