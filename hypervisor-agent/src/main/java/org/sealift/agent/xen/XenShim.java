package org.sealift.agent.xen;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The C surface of {@code libsealift-xen.so} (native/xen-shim/include/sealift_xen.h, API version
 * {@value #API_VERSION}) as a JNA library interface. Every {@code int} function returns 0 or -errno; the reason is in
 * {@link #slx_last_error()}, which is per thread, so it is read on the thread that made the failing call (JNA calls
 * run on the caller's thread). C {@code uint32_t}/{@code uint64_t} travel as Java {@code int}/{@code long} with the
 * same bits; {@code size_t} as {@code long}, which {@link XenBackend#open} checks is 64-bit.
 *
 * <p>Kept package-private: only {@link XenBackend} turns these integers into checked exceptions.
 */
interface XenShim extends Library {

    /** SLX_API_VERSION this binding mirrors; a shim reporting another is refused at load. */
    int API_VERSION = 1;

    int PAGE_SIZE = 4096;

    /** SLX_DOMINFO_* (the same bits as Xen's XEN_DOMINF_*). */
    int DOMINFO_DYING = 1;
    int DOMINFO_HVM = 1 << 1;
    int DOMINFO_SHUTDOWN = 1 << 2;
    int DOMINFO_PAUSED = 1 << 3;
    int DOMINFO_BLOCKED = 1 << 4;
    int DOMINFO_RUNNING = 1 << 5;

    /** SEALIFT_PROTMETA_MAX_SIZE: the largest blob the shim moves. */
    long PROTMETA_MAX_SIZE = 1L << 20;

    int slx_api_version();

    String slx_last_error();

    int slx_open(PointerByReference out);

    int slx_close(Pointer h);

    int slx_domain_info_get(Pointer h, int domid, DomainInfo out);

    /** The same function with a raw buffer, so a test can see how many bytes the C side writes. */
    int slx_domain_info_get(Pointer h, int domid, Pointer out);

    int slx_domain_list(Pointer h, int[] domids, int max, IntByReference count);

    int slx_domain_name(Pointer h, int domid, byte[] buf, long len);

    int slx_domain_create(Pointer h, String libxlJson, IntByReference domid);

    int slx_domain_destroy(Pointer h, int domid);

    int slx_domain_pause(Pointer h, int domid);

    int slx_domain_unpause(Pointer h, int domid);

    int slx_logdirty_enable(Pointer h, int domid);

    int slx_logdirty_disable(Pointer h, int domid);

    int slx_logdirty_peek(Pointer h, int domid, long nrPages, byte[] bitmap, LongByReference dirtyPages);

    int slx_logdirty_clean(Pointer h, int domid, long nrPages, byte[] bitmap, LongByReference dirtyPages);

    int slx_map_pages(Pointer h, int domid, int writable, int count, long[] gfns, int[] errs, PointerByReference addr);

    int slx_unmap_pages(Pointer h, Pointer addr, int count);

    int slx_read_pages(Pointer h, int domid, int count, long[] gfns, byte[] buf);

    int slx_write_pages(Pointer h, int domid, int count, long[] gfns, byte[] buf);

    int slx_vcpu_context_size();

    int slx_vcpu_context_get(Pointer h, int domid, int vcpu, byte[] buf, int len);

    /** The same function with a raw buffer (XenShimAbiTest measures how much it writes). */
    int slx_vcpu_context_get(Pointer h, int domid, int vcpu, Pointer buf, int len);

    int slx_vcpu_context_set(Pointer h, int domid, int vcpu, byte[] buf, int len);

    int slx_hvm_context_size(Pointer h, int domid, IntByReference size);

    int slx_hvm_context_get(Pointer h, int domid, byte[] buf, int len, IntByReference used);

    int slx_hvm_context_set(Pointer h, int domid, byte[] buf, int len);

    int slx_protmeta_size(Pointer h, int domid, LongByReference size);

    int slx_protmeta_export(Pointer h, int domid, byte[] buf, long len, LongByReference used);

    int slx_protmeta_import(Pointer h, int domid, byte[] buf, long len);

    /**
     * {@code slx_domain_info}, field for field (six uint32_t, four uint64_t, 16 bytes of UUID: 72 bytes with natural
     * alignment, which is JNA's default on Linux). XenShimAbiTest measures what the C side writes.
     */
    @Structure.FieldOrder({"domid", "flags", "shutdown_reason", "nr_online_vcpus", "max_vcpu_id", "reserved",
            "tot_pages", "max_pages", "max_gpfn", "cpu_time_ns", "uuid"})
    class DomainInfo extends Structure {
        public int domid;
        public int flags;
        public int shutdown_reason;
        public int nr_online_vcpus;
        public int max_vcpu_id;
        public int reserved;
        public long tot_pages;
        public long max_pages;
        public long max_gpfn;
        public long cpu_time_ns;
        public byte[] uuid = new byte[16];

        /** Where JNA puts a field (for XenShimAbiTest, which compares it with what the C side writes). */
        int offsetOf(String field) {
            return fieldOffset(field);
        }

        /** Guest frames Xen's p2m spans (0..max_gpfn): what a dirty bitmap from Xen covers. */
        long pageCount() {
            return max_gpfn + 1;
        }

        /**
         * The guest's RAM in pages, the frames a migration moves. A PV domain's p2m is dense, so it is
         * {@code max_gpfn + 1}. An HVM or PVH domain's p2m is not: RAM starts at gfn 0, and libxl puts a few special
         * pages (console and xenstore rings, ...) just below 4 GiB (a 32 MiB PVH guest has max_gpfn 0xfefff), so
         * spanning 0..max_gpfn would cover a 4 GiB hole. Its RAM is the domain's allocation rounded down to whole
         * MiB: libxl gives RAM in MiB and the special pages are far fewer than 256; the special pages are recreated
         * by libxl at a destination, not copied.
         */
        long ramPages() {
            if ((flags & DOMINFO_HVM) == 0) {
                return pageCount();
            }
            long ram = tot_pages / 256 * 256;
            return Math.max(1, Math.min(ram, pageCount()));
        }

        /** True if an HVM/PVH domain has frames above 4 GiB: RAM split around the MMIO hole (or a big balloon). */
        boolean framesAbove4GiB() {
            return (flags & DOMINFO_HVM) != 0 && pageCount() > HVM_LOW_FRAMES;
        }
    }

    /** Guest frames below 4 GiB. */
    long HVM_LOW_FRAMES = 1L << 20;
}
