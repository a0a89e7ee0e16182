package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.WorkloadSpec;

/** Foreign mappings of guest memory as ByteBuffers: contents, liveness, bounds, read-only maps, close. */
class XenGuestMemoryTest {

    private static final int PAGE = 4096;

    @TempDir
    Path tmp;
    private FakeXen host;
    private XenBackend xen;
    private int dom;

    @BeforeEach
    void guestWithDistinctPages() throws Exception {
        host = FakeXen.init(tmp.resolve("host"), FakeXen.UNPATCHED);
        xen = host.open();
        dom = xen.createDomain(new DomainConfig("mapped", 16, 1, List.of(), WorkloadSpec.idle(0))).domId();
        xen.resume(dom);
        for (long pfn = 1000; pfn < 1040; pfn++) {
            host.check(host.guestWrite(dom, pfn * PAGE + 16, text(pfn)), "guest write");
        }
    }

    @AfterEach
    void close() {
        xen.close();
    }

    private static byte[] text(long pfn) {
        return ("page " + pfn + " of the guest").getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] expectedPage(long pfn) {
        byte[] p = new byte[PAGE];
        byte[] t = text(pfn);
        System.arraycopy(t, 0, p, 16, t.length);
        return p;
    }

    @Test
    void bulkReadsCrossMappingChunksAndReturnWhatTheGuestWrote() throws Exception {
        try (GuestMemory m = xen.mapGuestMemory(dom, false)) {
            assertEquals(4096, m.pageCount());
            assertFalse(m.writable());
            assertEquals(XenGuestMemory.CHUNK_PAGES, m.maxSlicePages());
            // 1000..1039 spans the boundary between the first two 1024-page chunks
            ByteBuffer dst = ByteBuffer.allocateDirect(40 * PAGE);
            m.read(1000, 40, dst);
            assertEquals(40 * PAGE, dst.position());
            for (int i = 0; i < 40; i++) {
                byte[] got = new byte[PAGE];
                dst.get(i * PAGE, got);
                assertArrayEquals(expectedPage(1000 + i), got, "page " + (1000 + i));
            }
        }
    }

    @Test
    void aSliceIsALiveViewOfTheGuestsFrames() throws Exception {
        try (GuestMemory m = xen.mapGuestMemory(dom, false)) {
            ByteBuffer s = m.slice(1024, 8);
            assertEquals(8 * PAGE, s.remaining());
            assertTrue(s.isDirect() && s.isReadOnly());
            byte[] got = new byte[PAGE];
            s.get(0, got);
            assertArrayEquals(expectedPage(1024), got);
            // the guest writes after the slice was made: no copy was taken, the view shows it
            host.check(host.guestWrite(dom, 1025L * PAGE, new byte[] {42}), "guest write");
            assertEquals(42, s.get(PAGE));
            assertThrows(ReadOnlyBufferException.class, () -> s.put(0, (byte) 1));
        }
    }

    @Test
    void zeroPagesAreRecognisedAndDataPagesAreNot() throws Exception {
        try (GuestMemory m = xen.mapGuestMemory(dom, false)) {
            assertTrue(m.isZero(0));
            assertFalse(m.isZero(1000));
            host.check(host.guestWrite(dom, 2L * PAGE + PAGE - 1, new byte[] {1}), "guest write");
            assertFalse(m.isZero(2), "a non-zero last byte makes a page non-zero");
        }
    }

    @Test
    void aWritableMapWritesIntoTheGuest() throws Exception {
        byte[] data = new byte[3 * PAGE];
        Arrays.fill(data, (byte) 0x5e);
        try (GuestMemory m = xen.mapGuestMemory(dom, true)) {
            assertTrue(m.writable());
            ByteBuffer src = ByteBuffer.wrap(data);
            m.write(1022, 3, src); // across the chunk boundary
            assertEquals(0, src.remaining());
            m.slice(4000, 1).put(0, (byte) 0x77);
        }
        assertArrayEquals(data, host.guestRead(dom, 1022L * PAGE, 3 * PAGE));
        assertEquals(0x77, host.guestRead(dom, 4000L * PAGE, 1)[0]);
    }

    @Test
    void aReadOnlyMapRefusesWritesAndBoundsAreChecked() throws Exception {
        try (GuestMemory m = xen.mapGuestMemory(dom, false)) {
            HypervisorException w = assertThrows(HypervisorException.class,
                    () -> m.write(0, 1, ByteBuffer.allocate(PAGE)));
            assertEquals(Reason.REFUSED, w.reason());
            assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                    () -> m.read(4095, 2, ByteBuffer.allocate(2 * PAGE))).reason());
            assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                    () -> m.slice(1020, 8)).reason(), "a slice within one chunk only");
            assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                    () -> m.read(0, 2, ByteBuffer.allocate(PAGE))).reason(), "buffer too small");
            assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                    () -> m.isZero(-1)).reason());
        }
    }

    @Test
    void aClosedMapRefusesAndTheBackendOutlivesItUntilBothAreClosed() throws Exception {
        GuestMemory m = xen.mapGuestMemory(dom, false);
        m.read(1000, 1, ByteBuffer.allocate(PAGE));
        xen.close(); // detaching the backend leaves the open map usable: it holds the shim handle
        ByteBuffer one = ByteBuffer.allocate(PAGE);
        m.read(1001, 1, one);
        assertArrayEquals(expectedPage(1001), one.array());
        m.close();
        assertEquals(Reason.REFUSED, assertThrows(HypervisorException.class,
                () -> m.read(1000, 1, ByteBuffer.allocate(PAGE))).reason());
        m.close(); // idempotent
    }

    @Test
    void mappingAMissingDomainCarriesTheShimsMessage() throws Exception {
        xen.destroyDomain(dom);
        XenException e = assertThrows(XenException.class, () -> xen.mapGuestMemory(dom, false));
        assertEquals(Reason.NOT_FOUND, e.reason());
    }
}
