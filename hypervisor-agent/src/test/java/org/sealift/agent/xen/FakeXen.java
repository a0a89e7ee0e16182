package org.sealift.agent.xen;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sealift.agent.spi.HypervisorException;

/**
 * One fake Xen host (native/fakexen): a state directory that the Xen-named stand-in libraries bind to. The test plays
 * the guest and the hypervisor's protection module through fakexen's test API; {@link #open()} gives a real
 * {@link XenBackend} whose every call goes through JNA, the shim and the stand-in libraries.
 */
final class FakeXen {

    /** fakexen.h, the test API of libsealift-fakexen.so. */
    interface Api extends Library {
        String fakexen_last_error();

        int fakexen_host_init(String dir, int flags);

        int fakexen_use_host(String dir);

        int fakexen_guest_write(String host, int domid, long gpa, byte[] buf, long len);

        int fakexen_guest_read(String host, int domid, long gpa, byte[] buf, long len);

        int fakexen_guest_touch(String host, int domid, long firstPfn, long count, long stamp);

        int fakexen_protmeta_set(String host, int domid, byte[] blob, int len);

        int fakexen_protmeta_get(String host, int domid, byte[] buf, int cap, IntByReference len);

        int fakexen_protmeta_refuse(String host, int domid, int err);

        int fakexen_pvh_layout(String host, int domid, int topGfn);
    }

    /** FAKEXEN_HOST_PROTMETA: the host is a Sealift-patched Xen. */
    static final int PATCHED = 1;
    static final int UNPATCHED = 0;

    private static Api api;

    final Path dir;
    private final String host;

    private FakeXen(Path dir) {
        this.dir = dir;
        this.host = dir.toString();
    }

    /** native/fakexen/build/lib, which surefire passes as jna.library.path. */
    static Path libraryDir() {
        String p = System.getProperty("jna.library.path");
        if (p == null || !Files.isRegularFile(Path.of(p, "libsealift-fakexen.so"))) {
            throw new IllegalStateException("jna.library.path (" + p + ") does not hold libsealift-fakexen.so: build"
                    + " it with `make -C native all` and run the tests through Maven, whose surefire configuration"
                    + " points jna.library.path at native/fakexen/build/lib");
        }
        return Path.of(p).toAbsolutePath().normalize();
    }

    /** native/ of this checkout. */
    static Path nativeDir() {
        return libraryDir().getParent().getParent().getParent();
    }

    static synchronized Api api() {
        if (api == null) {
            // the same file the stand-in libraries found next to themselves: one instance, one host selection
            api = Native.load(libraryDir().resolve("libsealift-fakexen.so").toString(), Api.class);
        }
        return api;
    }

    /** A fresh host in {@code dir} holding only domain 0. */
    static FakeXen init(Path dir, int flags) {
        FakeXen x = new FakeXen(dir);
        x.check(api().fakexen_host_init(x.host, flags), "fakexen_host_init");
        return x;
    }

    /** A XenBackend bound to this host (the stand-in libraries bind to the host selected when they open). */
    XenBackend open() throws HypervisorException {
        return open(XenBackend.Options.defaults());
    }

    XenBackend open(XenBackend.Options options) throws HypervisorException {
        synchronized (FakeXen.class) {
            check(api().fakexen_use_host(host), "fakexen_use_host");
            try {
                return XenBackend.open(options);
            } finally {
                api().fakexen_use_host(null);
            }
        }
    }

    /** What fakexen_* returned, with its message: an error here is the test's set-up failing, not the backend. */
    int check(int rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException(what + " returned " + rc + ": " + api().fakexen_last_error());
        }
        return rc;
    }

    /** The guest writes; returns fakexen's rc (-EBUSY = 16 while paused) so tests can assert on it. */
    int guestWrite(int domId, long gpa, byte[] data) {
        return api().fakexen_guest_write(host, domId, gpa, data, data.length);
    }

    byte[] guestRead(int domId, long gpa, int len) {
        byte[] b = new byte[len];
        check(api().fakexen_guest_read(host, domId, gpa, b, len), "fakexen_guest_read");
        return b;
    }

    /** Writes a stamp into pages [first, first + count): returns fakexen's rc. */
    int touch(int domId, long first, long count, long stamp) {
        return api().fakexen_guest_touch(host, domId, first, count, stamp);
    }

    /** Gfn where libxl puts a 32 MiB PVH guest's highest special page (its max_gpfn on Debian's Xen 4.17). */
    static final int PVH_SPECIAL_TOP = 0xfefff;

    /** Gives the domain a PVH guest's layout: special pages ending at {@code topGfn}, far above its RAM. */
    void pvhLayout(int domId, int topGfn) {
        check(api().fakexen_pvh_layout(host, domId, topGfn), "fakexen_pvh_layout");
    }

    void setProtectionMetadata(int domId, byte[] payload) {
        check(api().fakexen_protmeta_set(host, domId, payload, payload.length), "fakexen_protmeta_set");
    }

    byte[] protectionMetadata(int domId) {
        byte[] buf = new byte[64 * 1024];
        IntByReference len = new IntByReference();
        check(api().fakexen_protmeta_get(host, domId, buf, buf.length, len), "fakexen_protmeta_get");
        return java.util.Arrays.copyOf(buf, len.getValue());
    }

    void refuseProtectionMetadata(int domId, int errno) {
        check(api().fakexen_protmeta_refuse(host, domId, errno), "fakexen_protmeta_refuse");
    }

    /** The whole memory of a domain, read as the guest sees it. */
    byte[] memory(int domId, long pages) {
        return guestRead(domId, 0, Math.toIntExact(pages * 4096));
    }
}
