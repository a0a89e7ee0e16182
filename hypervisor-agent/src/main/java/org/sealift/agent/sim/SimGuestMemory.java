package org.sealift.agent.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;

/**
 * dom0's foreign mapping of a simulated guest: the shared guest-memory file mapped into the agent. What it reads for
 * a protected page is the ciphertext the hypervisor keeps there; the plaintext is not in this file at all.
 */
final class SimGuestMemory implements GuestMemory {

    private final MappedPages pages;
    private final String vm;

    private SimGuestMemory(MappedPages pages, String vm) {
        this.pages = pages;
        this.vm = vm;
    }

    static SimGuestMemory map(Path file, long pageCount, boolean writable, String vm) throws HypervisorException {
        try {
            return new SimGuestMemory(MappedPages.map(file, pageCount, writable, false), vm);
        } catch (IOException e) {
            throw new HypervisorException(HypervisorException.Reason.UNAVAILABLE, "cannot map the memory of VM " + vm
                    + " (" + file + "): " + e.getMessage() + "; the agent must run as the same user as the hypervisor",
                    e);
        }
    }

    @Override
    public long pageCount() {
        return pages.pageCount();
    }

    @Override
    public boolean writable() {
        return pages.writable();
    }

    @Override
    public void read(long pfn, int count, ByteBuffer dst) throws HypervisorException {
        try {
            pages.read(pfn, count, dst);
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw invalid(e);
        }
    }

    @Override
    public void write(long pfn, int count, ByteBuffer src) throws HypervisorException {
        try {
            pages.write(pfn, count, src);
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw invalid(e);
        }
    }

    @Override
    public ByteBuffer slice(long pfn, int count) throws HypervisorException {
        try {
            return pages.slice(pfn, count);
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw invalid(e);
        }
    }

    @Override
    public int maxSlicePages() {
        return MappedPages.CHUNK_PAGES;
    }

    @Override
    public boolean isZero(long pfn) throws HypervisorException {
        try {
            return pages.isZero(pfn);
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw invalid(e);
        }
    }

    private HypervisorException invalid(RuntimeException e) {
        return new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "VM " + vm + ": " + e.getMessage());
    }

    @Override
    public void close() {
        pages.close();
    }
}
