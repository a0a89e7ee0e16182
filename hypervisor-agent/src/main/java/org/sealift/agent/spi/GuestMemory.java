package org.sealift.agent.spi;

import java.nio.ByteBuffer;

/**
 * dom0's mapping of a domain's memory, as Xen's foreign mapping gives it: fast bulk access to normal pages. A
 * protected page read through this map yields the ciphertext the guest OS sees, never plaintext; writing one changes
 * only that ciphertext view (the hypervisor's copy stays authoritative). Thread-safe for disjoint page ranges.
 */
public interface GuestMemory extends AutoCloseable {

    int PAGE_SIZE = DomainConfig.PAGE_SIZE;

    long pageCount();

    boolean writable();

    /** Copies pages {@code pfn .. pfn+count-1} into {@code dst} at its position (advancing it). */
    void read(long pfn, int count, ByteBuffer dst) throws HypervisorException;

    /** Copies {@code count} pages from {@code src} (advancing it) into pages {@code pfn ..}; refused on a read-only map. */
    void write(long pfn, int count, ByteBuffer src) throws HypervisorException;

    /**
     * A direct view of pages {@code pfn .. pfn+count-1} without copying (read-only unless the map is writable); valid
     * until {@link #close()}. {@code count} pages must lie within one mapping chunk ({@link #maxSlicePages()}).
     */
    ByteBuffer slice(long pfn, int count) throws HypervisorException;

    /** The most pages one {@link #slice} can cover (mappings are made in chunks). */
    int maxSlicePages();

    /** True if the page is all zero bytes (cheap check for zero markers). */
    boolean isZero(long pfn) throws HypervisorException;

    /** Unmaps; slices become invalid. */
    @Override
    void close();
}
