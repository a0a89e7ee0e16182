package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JNA mirror of the shim's ABI checked against what the C side does. The shim has no call that reports its
 * struct sizes, so the test measures them: it lets the shim write into a buffer pre-filled with a sentinel, twice
 * with different sentinels, and takes the highest byte either call changed as the end of what C wrote.
 */
class XenShimAbiTest {

    @TempDir
    Path tmp;
    private XenShim shim;
    private Pointer handle;
    private int domId;

    @BeforeEach
    void openRawHandleWithADomain() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("h"), FakeXen.UNPATCHED);
        shim = XenShimLoader.load(Optional.empty());
        PointerByReference out = new PointerByReference();
        synchronized (FakeXen.class) {
            FakeXen.api().fakexen_use_host(host.dir.toString());
            try {
                assertEquals(0, shim.slx_open(out), () -> shim.slx_last_error());
            } finally {
                FakeXen.api().fakexen_use_host(null);
            }
        }
        handle = out.getValue();
        IntByReference id = new IntByReference();
        String json = "{\"c_info\":{\"type\":\"pvh\",\"name\":\"abi\"},\"b_info\":{\"max_vcpus\":2,"
                + "\"max_memkb\":16384,\"target_memkb\":16384,\"type.pvh\":{}}}";
        assertEquals(0, shim.slx_domain_create(handle, json, id), () -> shim.slx_last_error());
        domId = id.getValue();
    }

    @AfterEach
    void close() {
        if (handle != null) {
            shim.slx_close(handle);
        }
    }

    /** Bytes the C side wrote into a buffer of {@code capacity}: the end of the highest byte it changed. */
    private interface Fill {
        int call(Pointer buffer);
    }

    private long writtenExtent(int capacity, Fill f) {
        long extent = 0;
        for (byte sentinel : new byte[] {(byte) 0xa5, (byte) 0x5a}) {
            Memory m = new Memory(capacity);
            m.setMemory(0, capacity, sentinel);
            assertEquals(0, f.call(m), () -> shim.slx_last_error());
            for (long i = capacity - 1; i >= 0; i--) {
                if (m.getByte(i) != sentinel) {
                    extent = Math.max(extent, i + 1);
                    break;
                }
            }
        }
        return extent;
    }

    @Test
    void theShimSpeaksTheApiVersionOfThisBinding() {
        assertEquals(XenShim.API_VERSION, shim.slx_api_version());
    }

    @Test
    void domainInfoHasTheSizeAndFieldOffsetsTheShimWrites() {
        XenShim.DomainInfo mirror = new XenShim.DomainInfo();
        long written = writtenExtent(mirror.size() + 64, m -> shim.slx_domain_info_get(handle, domId, m));
        assertEquals(72, mirror.size(), "six uint32_t, four uint64_t and a 16-byte UUID, naturally aligned");
        assertEquals(mirror.size(), written, "the shim fills exactly sizeof(slx_domain_info)");

        // the same call through the structure, and the raw bytes read at JNA's offsets, agree with the host
        assertEquals(0, shim.slx_domain_info_get(handle, domId, mirror), () -> shim.slx_last_error());
        Memory raw = new Memory(mirror.size());
        assertEquals(0, shim.slx_domain_info_get(handle, domId, raw), () -> shim.slx_last_error());
        assertEquals(domId, mirror.domid);
        assertEquals(domId, raw.getInt(mirror.offsetOf("domid")));
        assertEquals(2, mirror.nr_online_vcpus);
        assertEquals(2, raw.getInt(mirror.offsetOf("nr_online_vcpus")));
        assertEquals(1, raw.getInt(mirror.offsetOf("max_vcpu_id")));
        assertEquals(4096, raw.getLong(mirror.offsetOf("tot_pages")));
        assertEquals(4096, mirror.max_pages);
        assertEquals(4095, raw.getLong(mirror.offsetOf("max_gpfn")));
        assertEquals(4095, mirror.max_gpfn);
        int flags = raw.getInt(mirror.offsetOf("flags"));
        assertEquals(flags, mirror.flags);
        assertTrue((flags & XenShim.DOMINFO_PAUSED) != 0, "created paused: flags " + flags);
        assertTrue((flags & XenShim.DOMINFO_HVM) != 0, "a PVH domain is an HVM container: flags " + flags);
        assertArrayEquals(raw.getByteArray(mirror.offsetOf("uuid"), 16), mirror.uuid);
        assertFalse(Arrays.equals(new byte[16], mirror.uuid), "the UUID is the domain's, not zeros");
    }

    @Test
    void theReportedVcpuContextSizeIsWhatGetWrites() {
        int size = shim.slx_vcpu_context_size();
        assertTrue(size >= 1024, "vcpu_guest_context_any_t is several KiB, got " + size);
        long written = writtenExtent(size + 256, m -> shim.slx_vcpu_context_get(handle, domId, 0, m, size + 256));
        assertEquals(size, written, "slx_vcpu_context_get writes exactly slx_vcpu_context_size() bytes");
    }
}
