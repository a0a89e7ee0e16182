package org.sealift.agent.sim;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A guest-memory file mapped in chunks (a MappedByteBuffer covers at most 2 GiB). The simulated hypervisor maps the
 * file to run the guest; dom0's agent maps the same file as Xen's foreign mapping would give it. Page access only;
 * callers synchronise on page ranges themselves.
 */
public final class MappedPages implements AutoCloseable {

    public static final int PAGE = 4096;
    /** 1 GiB per mapping chunk. */
    public static final int CHUNK_PAGES = 1 << 18;

    private final long pages;
    private final boolean writable;
    private final ByteBuffer[] chunks;
    private final Object arena;
    private volatile boolean closed;

    private MappedPages(long pages, boolean writable, ByteBuffer[] chunks, Object arena) {
        this.pages = pages;
        this.writable = writable;
        this.chunks = chunks;
        this.arena = arena;
    }

    /** Creates (sparse, all zero) or opens the file with exactly {@code pages} pages and maps it. */
    public static MappedPages map(Path file, long pages, boolean writable, boolean create) throws IOException {
        long size = pages * PAGE;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), writable ? "rw" : "r")) {
            if (create) {
                raf.setLength(size);
            } else if (raf.length() != size) {
                throw new IOException("guest memory file " + file + " has " + raf.length() + " bytes, expected " + size);
            }
            FileChannel ch = raf.getChannel();
            int n = (int) ((pages + CHUNK_PAGES - 1) / CHUNK_PAGES);
            ByteBuffer[] chunks = new ByteBuffer[n];
            Object arena = Unmapper.newArena();
            for (int i = 0; i < n; i++) {
                long first = (long) i * CHUNK_PAGES;
                long count = Math.min(CHUNK_PAGES, pages - first);
                chunks[i] = Unmapper.map(ch, writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY,
                        first * PAGE, count * PAGE, arena);
            }
            return new MappedPages(pages, writable, chunks, arena);
        }
    }

    public long pageCount() {
        return pages;
    }

    public boolean writable() {
        return writable;
    }

    private void check(long pfn, long count) {
        if (closed) {
            throw new IllegalStateException("guest memory was unmapped");
        }
        if (pfn < 0 || count < 0 || pfn + count > pages) {
            throw new IndexOutOfBoundsException("pages " + pfn + "+" + count + " lie outside the guest's " + pages
                    + " pages");
        }
    }

    /** A view of {@code count} pages from {@code pfn}; they must lie in one chunk. */
    public ByteBuffer slice(long pfn, int count) {
        check(pfn, count);
        int c = (int) (pfn / CHUNK_PAGES);
        int off = (int) (pfn % CHUNK_PAGES);
        if (off + count > CHUNK_PAGES) {
            throw new IndexOutOfBoundsException("pages " + pfn + "+" + count + " cross a mapping chunk boundary ("
                    + CHUNK_PAGES + " pages); split the request");
        }
        ByteBuffer b = chunks[c].slice(off * PAGE, count * PAGE);
        return writable ? b : b.asReadOnlyBuffer();
    }

    /**
     * A view of {@code length} bytes from byte {@code position} of the file (for files that are not page tables, such
     * as the hypervisor's sealed-record slots); the range must lie in one mapping chunk.
     */
    public ByteBuffer bytes(long position, int length) {
        long chunkBytes = (long) CHUNK_PAGES * PAGE;
        if (closed) {
            throw new IllegalStateException("the file was unmapped");
        }
        int c = (int) (position / chunkBytes);
        int off = (int) (position % chunkBytes);
        if (position < 0 || length < 0 || c >= chunks.length || off + (long) length > chunks[c].capacity()) {
            throw new IndexOutOfBoundsException("bytes " + position + "+" + length + " lie outside the mapping or"
                    + " cross a chunk boundary");
        }
        ByteBuffer b = chunks[c].slice(off, length);
        return writable ? b : b.asReadOnlyBuffer();
    }

    public ByteBuffer page(long pfn) {
        return slice(pfn, 1);
    }

    public void read(long pfn, int count, ByteBuffer dst) {
        check(pfn, count);
        long p = pfn;
        int left = count;
        while (left > 0) {
            int n = (int) Math.min(left, CHUNK_PAGES - p % CHUNK_PAGES);
            dst.put(slice(p, n));
            p += n;
            left -= n;
        }
    }

    public void write(long pfn, int count, ByteBuffer src) {
        if (!writable) {
            throw new IllegalStateException("guest memory is mapped read-only");
        }
        check(pfn, count);
        long p = pfn;
        int left = count;
        while (left > 0) {
            int n = (int) Math.min(left, CHUNK_PAGES - p % CHUNK_PAGES);
            ByteBuffer s = src.slice(src.position(), n * PAGE);
            slice(p, n).put(s);
            src.position(src.position() + n * PAGE);
            p += n;
            left -= n;
        }
    }

    public boolean isZero(long pfn) {
        ByteBuffer b = page(pfn);
        for (int i = 0; i < PAGE; i += 8) {
            if (b.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Unmaps now rather than at some later GC, so destroyed guests give their tmpfs memory back. On Java 22+ the
     * mapping belongs to a shared arena: a later access fails with an exception instead of touching unmapped memory.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Unmapper.unmap(chunks, arena);
    }
}
