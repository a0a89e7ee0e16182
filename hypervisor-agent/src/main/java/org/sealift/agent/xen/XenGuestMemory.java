package org.sealift.agent.xen;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;

/**
 * A domain's memory as dom0 maps it with Xen's foreign mapping (slx_map_pages): chunks of {@link #CHUNK_PAGES}
 * consecutive gfns, mapped on first use and kept until {@link #close()}, each one a direct ByteBuffer over the mapped
 * guest frames (no copy: the guest's later writes show through, and a writable map's writes reach the guest).
 *
 * <p>A chunk with any frame Xen cannot map (a guest-physical hole, e.g. an HVM MMIO hole) fails as a whole with the
 * shim's message naming the frame, rather than leaving an unmapped page that would fault the JVM when touched.
 * Copies ({@link #read}, {@link #write}, {@link #isZero}) are safe against a concurrent {@link #close()}; slices are
 * the caller's to stop using before it (the SPI's contract).
 */
final class XenGuestMemory implements GuestMemory {

    /** 4 MiB per mapping: few mmaps for the whole guest, and a PAGE_BATCH never spans more than two. */
    static final int CHUNK_PAGES = 1024;

    private final XenBackend backend;
    private final int domId;
    private final long pageCount;
    private final boolean writable;
    private final Pointer[] addresses;
    private final ByteBuffer[] chunks;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    XenGuestMemory(XenBackend backend, int domId, long pageCount, boolean writable) {
        this.backend = backend;
        this.domId = domId;
        this.pageCount = pageCount;
        this.writable = writable;
        int n = (int) ((pageCount + CHUNK_PAGES - 1) / CHUNK_PAGES);
        this.addresses = new Pointer[n];
        this.chunks = new ByteBuffer[n];
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public int maxSlicePages() {
        return CHUNK_PAGES;
    }

    private void checkRange(long pfn, long count) throws HypervisorException {
        if (pfn < 0 || count < 0 || pfn > pageCount - count) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "pages " + pfn + "+" + count
                    + " are outside domain " + domId + "'s " + pageCount + " pages (0.." + (pageCount - 1) + ")");
        }
    }

    private void checkOpen() throws HypervisorException {
        if (closed) {
            throw new HypervisorException(HypervisorException.Reason.REFUSED, "the memory map of domain " + domId
                    + " is closed; map it again with mapGuestMemory");
        }
    }

    /** The chunk's mapping, made on first use; called with the read lock held. */
    private ByteBuffer chunk(int index) throws HypervisorException {
        synchronized (chunks) {
            ByteBuffer c = chunks[index];
            if (c == null) {
                long first = (long) index * CHUNK_PAGES;
                int count = (int) Math.min(CHUNK_PAGES, pageCount - first);
                Pointer p = backend.mapPages(domId, writable, first, count);
                ByteBuffer b = p.getByteBuffer(0, (long) count * PAGE_SIZE);
                c = writable ? b : b.asReadOnlyBuffer();
                addresses[index] = p;
                chunks[index] = c;
            }
            return c;
        }
    }

    @Override
    public ByteBuffer slice(long pfn, int count) throws HypervisorException {
        checkRange(pfn, count);
        if (count < 1 || pfn / CHUNK_PAGES != (pfn + count - 1) / CHUNK_PAGES) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "a slice of " + count
                    + " pages at " + pfn + " crosses a " + CHUNK_PAGES + "-page mapping chunk; slice within one chunk"
                    + " (maxSlicePages) or use read/write");
        }
        lock.readLock().lock();
        try {
            checkOpen();
            ByteBuffer c = chunk((int) (pfn / CHUNK_PAGES));
            return c.slice((int) (pfn % CHUNK_PAGES) * PAGE_SIZE, count * PAGE_SIZE);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void read(long pfn, int count, ByteBuffer dst) throws HypervisorException {
        checkRange(pfn, count);
        if (dst.remaining() < (long) count * PAGE_SIZE) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "reading " + count
                    + " pages needs " + (long) count * PAGE_SIZE + " bytes, the buffer has " + dst.remaining());
        }
        lock.readLock().lock();
        try {
            checkOpen();
            long p = pfn;
            long end = pfn + count;
            while (p < end) {
                int inChunk = (int) Math.min(end - p, CHUNK_PAGES - p % CHUNK_PAGES);
                ByteBuffer c = chunk((int) (p / CHUNK_PAGES));
                dst.put(c.slice((int) (p % CHUNK_PAGES) * PAGE_SIZE, inChunk * PAGE_SIZE));
                p += inChunk;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void write(long pfn, int count, ByteBuffer src) throws HypervisorException {
        if (!writable) {
            throw new HypervisorException(HypervisorException.Reason.REFUSED, "the memory map of domain " + domId
                    + " is read-only; map it with writable = true to write guest pages");
        }
        checkRange(pfn, count);
        if (src.remaining() < (long) count * PAGE_SIZE) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "writing " + count
                    + " pages needs " + (long) count * PAGE_SIZE + " bytes, the buffer has " + src.remaining());
        }
        lock.readLock().lock();
        try {
            checkOpen();
            long p = pfn;
            long end = pfn + count;
            while (p < end) {
                int inChunk = (int) Math.min(end - p, CHUNK_PAGES - p % CHUNK_PAGES);
                ByteBuffer c = chunk((int) (p / CHUNK_PAGES));
                int bytes = inChunk * PAGE_SIZE;
                ByteBuffer part = src.slice(src.position(), bytes);
                c.put((int) (p % CHUNK_PAGES) * PAGE_SIZE, part, 0, bytes);
                src.position(src.position() + bytes);
                p += inChunk;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public boolean isZero(long pfn) throws HypervisorException {
        checkRange(pfn, 1);
        lock.readLock().lock();
        try {
            checkOpen();
            ByteBuffer c = chunk((int) (pfn / CHUNK_PAGES));
            int base = (int) (pfn % CHUNK_PAGES) * PAGE_SIZE;
            for (int o = 0; o < PAGE_SIZE; o += 8) {
                if (c.getLong(base + o) != 0) {
                    return false;
                }
            }
            return true;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            synchronized (chunks) {
                for (int i = 0; i < chunks.length; i++) {
                    if (addresses[i] != null) {
                        int count = (int) Math.min(CHUNK_PAGES, pageCount - (long) i * CHUNK_PAGES);
                        backend.unmapPages(addresses[i], count);
                        addresses[i] = null;
                        chunks[i] = null;
                    }
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
        // reached once: the mapping no longer needs the shim handle
        backend.release();
    }
}
