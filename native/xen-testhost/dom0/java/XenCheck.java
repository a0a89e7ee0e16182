import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.xen.XenBackend;

/**
 * The agent's XenBackend (JVM, JNA, libsealift-xen) against a real Xen, from dom0: the same checks as xen_check.c,
 * through the HypervisorBackend SPI only. Each check prints one marked line that the host-side test asserts:
 * {@code SEALIFT-XEN-RESULT suite=java name=<check> ok=<1|0> detail=<text>}.
 *
 * <p>usage: java -cp sealift-agent.jar:. XenCheck SHIM GUEST_ELF GUEST_CMDLINE TEMPLATE_JSON
 * (TEMPLATE_JSON: the agent's xen.template, libxl's JSON of the guest's xl configuration from {@code xl -N create})
 */
public final class XenCheck {

    private static final long STATUS_PFN = 0x101;
    private static final int PAGE = 4096;
    /** Pages outside the working set the guest may write in a round: status page, stack, its variables. */
    private static final long OTHER_DIRTY_SLACK = 16;
    /** Offsets in Xen's public layouts (x86_64 toolstack): vcpu_guest_context_x86_64.user_regs.rip, hvm_hw_cpu.rip. */
    private static final int VCPU_RIP = 648;
    private static final int HVM_CPU_RIP = 640;
    private static final int HVM_CODE_CPU = 2;
    private static final int HVM_CODE_END = 0;

    private static int failures;
    private static XenBackend xen;
    private static int dom;

    /** The guest's status page (native/guest/include/sealift_guest.h), little-endian u32 fields. */
    record Status(boolean magic, int boot, int heartbeat, int dirtied, int wssBase, int wssPages, int rate, int memTop,
            int cursor, String cmdline) {
        static Status of(ByteBuffer page) {
            ByteBuffer b = page.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            byte[] m = new byte[8];
            b.get(0, m);
            byte[] c = new byte[192];
            b.get(64, c);
            int n = 0;
            while (n < c.length && c[n] != 0) {
                n++;
            }
            return new Status(new String(m, StandardCharsets.US_ASCII).equals("SLGUEST1"), b.getInt(12), b.getInt(16),
                    b.getInt(20), b.getInt(24), b.getInt(28), b.getInt(32), b.getInt(36), b.getInt(48),
                    new String(c, 0, n, StandardCharsets.US_ASCII));
        }
    }

    private static void result(String name, boolean ok, String detail) {
        System.out.println("SEALIFT-XEN-RESULT suite=java name=" + name + " ok=" + (ok ? 1 : 0) + " detail="
                + detail.replace('\n', ' '));
        System.out.flush();
        if (!ok) {
            failures++;
        }
    }

    private static void failed(String name, Exception e) {
        result(name, false, e.getClass().getSimpleName() + ": " + e.getMessage());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Status status() throws HypervisorException {
        try (GuestMemory mem = xen.mapGuestMemory(dom, false)) {
            ByteBuffer page = ByteBuffer.allocate(PAGE);
            mem.read(STATUS_PFN, 1, page);
            return Status.of(page.flip());
        }
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: XenCheck SHIM GUEST_ELF GUEST_CMDLINE TEMPLATE_JSON");
            System.exit(2);
        }
        XenBackend.Options options = new XenBackend.Options(Optional.of(Path.of(args[0])), "pvh",
                Optional.of(Path.of(args[3])), Optional.of(args[1]), Optional.of(args[2]));
        try {
            xen = XenBackend.open(options);
            result("open", true, "XenBackend over " + args[0] + ", protection domctl supported="
                    + xen.protectionSupported());
        } catch (HypervisorException e) {
            failed("open", e);
            finish();
        }
        try {
            DomainInfo d0 = xen.domainInfo(0);
            result("dom0-info", d0.name().equals("Domain-0") && d0.state() == DomainState.RUNNING
                    && d0.pageCount() >= 200_000, "name=" + d0.name() + " state=" + d0.state() + " pages="
                    + d0.pageCount() + " listed=" + xen.listDomains().stream().map(DomainInfo::domId).toList());
        } catch (HypervisorException e) {
            failed("dom0-info", e);
        }
        boolean created = false;
        try {
            DomainInfo g = xen.createDomain(new DomainConfig("sealift-jguest", 32, 1, List.of(), null));
            dom = g.domId();
            created = true;
            Status s = status();
            // 32 MiB: the RAM, although Xen's max_gpfn of a PVH guest lies near 4 GiB (libxl's special pages)
            result("create-paused", g.state() == DomainState.PAUSED && !s.magic() && g.name().equals("sealift-jguest")
                    && g.config().memoryMiB() == 32 && g.pageCount() == 32 * 256,
                    "domid=" + dom + " state=" + g.state() + " memoryMiB=" + g.config().memoryMiB() + " pages="
                            + g.pageCount() + " status-page-magic=" + s.magic());
        } catch (HypervisorException e) {
            failed("create-paused", e);
        }
        if (created) {
            try {
                checks(args[2]);
            } catch (HypervisorException | RuntimeException e) {
                failed("unexpected", e);
            }
            try {
                xen.destroyDomain(dom);
                HypervisorException.Reason after = null;
                for (int i = 0; i < 100 && after == null; i++) {
                    try {
                        xen.domainInfo(dom);
                        sleep(100);
                    } catch (HypervisorException e) {
                        after = e.reason();
                    }
                }
                result("destroy", after == HypervisorException.Reason.NOT_FOUND, "then domainInfo: " + after);
            } catch (HypervisorException e) {
                failed("destroy", e);
            }
        }
        finish();
    }

    private static void finish() {
        System.out.println("SEALIFT-XEN-DONE suite=java failed=" + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static void checks(String cmdline) throws HypervisorException {
        xen.resume(dom);
        Status s = status();
        for (int i = 0; i < 600 && !(s.magic() && s.heartbeat() > 0); i++) {
            sleep(100);
            s = status();
        }
        result("guest-runs", s.magic() && s.boot() == 2 && s.cmdline().equals(cmdline)
                && xen.domainInfo(dom).state() == DomainState.RUNNING, "magic=" + s.magic() + " boot=" + s.boot()
                        + " hb=" + s.heartbeat() + " cmdline='" + s.cmdline() + "' state=" + xen.domainInfo(dom).state());
        if (!s.magic()) {
            return;
        }

        xen.pause(dom);
        Status a = status();
        sleep(700);
        Status b = status();
        DomainState ps = xen.domainInfo(dom).state();
        result("pause-freezes", ps == DomainState.PAUSED && a.heartbeat() == b.heartbeat()
                && a.dirtied() == b.dirtied(), "state=" + ps + " hb " + a.heartbeat() + " -> " + b.heartbeat()
                        + ", dirtied " + a.dirtied() + " -> " + b.dirtied() + " over 0.7 s");
        xen.resume(dom);
        sleep(1000);
        Status c = status();
        result("unpause-resumes", xen.domainInfo(dom).state() == DomainState.RUNNING && c.heartbeat() > b.heartbeat()
                && c.dirtied() > b.dirtied(), "hb " + b.heartbeat() + " -> " + c.heartbeat() + ", dirtied "
                        + b.dirtied() + " -> " + c.dirtied());

        logDirty();
        foreignMap();
        vcpuContext();
    }

    private static void logDirty() throws HypervisorException {
        xen.enableDirtyLogging(dom);
        xen.pause(dom);
        xen.readDirtyLog(dom, true);
        PageBitmap empty = xen.readDirtyLog(dom, false);
        Status s0 = status();
        xen.resume(dom);
        sleep(1000);
        xen.pause(dom);
        Status s1 = status();
        PageBitmap peek = xen.readDirtyLog(dom, false);
        PageBitmap clean = xen.readDirtyLog(dom, true);
        PageBitmap after = xen.readDirtyLog(dom, false);
        long wrote = Integer.toUnsignedLong(s1.dirtied() - s0.dirtied());
        long expect = Math.min(wrote, s0.wssPages());
        // the guest advances its cursor after a whole batch (rate / 100 pages a tick): the first pages of the first
        // batch counted here may have been written before the CLEAN, while the guest was being paused
        long inflight = (s0.rate() + 99) / 100;
        long missing = 0;
        for (long i = inflight; i < expect; i++) {
            long pfn = (s0.wssBase() >>> 12) + (s0.cursor() + i) % s0.wssPages();
            if (!peek.get(pfn)) {
                missing++;
            }
        }
        long n = peek.cardinality();
        result("logdirty-round", empty.cardinality() == 0 && wrote > inflight && missing == 0 && n + inflight >= expect
                && n <= expect + OTHER_DIRTY_SLACK && peek.get(STATUS_PFN) && clean.equals(peek)
                && after.cardinality() == 0 && xen.domainInfo(dom).dirtyLogging(),
                "paused peek " + empty.cardinality() + "; guest wrote " + wrote + " pages; peek " + n + " dirty, "
                        + missing + " written working-set pages missing (beyond the first " + inflight
                        + ", which may predate the clean); clean same bits " + clean.equals(peek)
                        + "; peek after clean " + after.cardinality() + "; bitmap covers " + peek.pageCount()
                        + " pages");
        xen.resume(dom);

        StringBuilder counts = new StringBuilder();
        boolean ok = true;
        for (int round = 0; round < 3; round++) {
            sleep(500);
            PageBitmap r = xen.readDirtyLog(dom, true);
            long k = r.cardinality();
            ok &= k > 0 && k <= s0.wssPages() + OTHER_DIRTY_SLACK && r.get(STATUS_PFN);
            counts.append(round == 0 ? "" : ",").append(k);
        }
        result("logdirty-clean-while-running", ok, "pages per 0.5 s round: " + counts + " (working set "
                + s0.wssPages() + " pages)");
        xen.disableDirtyLogging(dom);
    }

    /** xorshift32 (13, 17, 5), as the guest fills its memory. */
    private static int xorshift(int x) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x;
    }

    private static int undoShl(int y, int s) {
        int x = y;
        for (int i = 0; i < 32 / s + 1; i++) {
            x = y ^ (x << s);
        }
        return x;
    }

    private static int undoShr(int y, int s) {
        int x = y;
        for (int i = 0; i < 32 / s + 1; i++) {
            x = y ^ (x >>> s);
        }
        return x;
    }

    /** The boot seed of a filled page, or null if the page is not the guest's fill sequence for this frame. */
    private static Integer seedOf(ByteBuffer page, long pfn) {
        ByteBuffer b = page.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int x0 = undoShl(undoShr(undoShl(b.getInt(0), 5), 17), 13);
        int x = x0;
        for (int i = 0; i < PAGE / 4; i++) {
            x = xorshift(x);
            if (b.getInt(i * 4) != x) {
                return null;
            }
        }
        return x0 ^ (int) (pfn * 2654435761L);
    }

    private static void foreignMap() throws HypervisorException {
        xen.pause(dom);
        try (GuestMemory mem = xen.mapGuestMemory(dom, false)) {
            Status s = Status.of(mem.slice(STATUS_PFN, 1));
            long first = (s.wssBase() >>> 12) + s.wssPages();
            long last = (s.memTop() >>> 12) - 1;
            ByteBuffer a = ByteBuffer.allocate(PAGE);
            mem.read(first, 1, a);
            ByteBuffer z = ByteBuffer.allocate(PAGE);
            mem.read(last, 1, z);
            Integer sa = seedOf(a.flip(), first);
            Integer sz = seedOf(z.flip(), last);
            result("foreign-map-contents", s.magic() && sa != null && sa.equals(sz), "status magic=" + s.magic()
                    + " hb=" + s.heartbeat() + "; filled pages " + Long.toHexString(first) + "," + Long.toHexString(last)
                    + " regenerate with one boot seed: " + sa + "," + sz + "; map covers " + mem.pageCount()
                    + " pages");
        }
        xen.resume(dom);
    }

    private static void vcpuContext() throws HypervisorException {
        xen.pause(dom);
        byte[] block = xen.vcpuContext(dom, 0);
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        String magic = new String(block, 0, 8, StandardCharsets.US_ASCII);
        int v = b.getInt(8);
        int h = b.getInt(12);
        long rip = b.getLong(16 + VCPU_RIP);
        long hvmRip = -1;
        int cpus = 0;
        for (int off = 16 + v; off + 8 <= 16 + v + h;) {
            int code = Short.toUnsignedInt(b.getShort(off));
            int len = b.getInt(off + 4);
            off += 8;
            if (code == HVM_CODE_END || off + len > 16 + v + h) {
                break;
            }
            if (code == HVM_CODE_CPU) {
                cpus++;
                hvmRip = b.getLong(off + HVM_CPU_RIP);
            }
            off += len;
        }
        // the guest's code lies at 0x102000.. (guest.ld); it never leaves it
        boolean inCode = rip >= 0x102000 && rip < 0x110000;
        result("vcpu-context", magic.equals("SLXVCPU1") && h > 0 && cpus == 1 && rip == hvmRip && inCode,
                "block " + block.length + " bytes: vcpu " + v + " + hvm " + h + "; rip=0x" + Long.toHexString(rip)
                        + " hvm cpu records=" + cpus + " rip=0x" + Long.toHexString(hvmRip));

        // setting the same block back on the paused domain must leave a guest that runs on
        Status before = status();
        xen.setVcpuContext(dom, 0, block);
        xen.resume(dom);
        sleep(1000);
        Status after = status();
        result("vcpu-context-set", after.heartbeat() > before.heartbeat() && after.dirtied() > before.dirtied(),
                "set while paused, resumed: hb " + before.heartbeat() + " -> " + after.heartbeat());
    }
}
