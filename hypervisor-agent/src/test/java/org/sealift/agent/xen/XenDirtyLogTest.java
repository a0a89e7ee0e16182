package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.WorkloadSpec;

/** Xen's log-dirty PEEK and CLEAN as PageBitmaps, fed by the fake guest's writes. */
class XenDirtyLogTest {

    @TempDir
    Path tmp;
    private FakeXen host;
    private XenBackend xen;
    private int dom;

    @BeforeEach
    void runningGuest() throws Exception {
        host = FakeXen.init(tmp.resolve("host"), FakeXen.UNPATCHED);
        xen = host.open();
        dom = xen.createDomain(new DomainConfig("logged", 16, 1, List.of(), WorkloadSpec.idle(0))).domId();
        xen.resume(dom);
    }

    @AfterEach
    void close() {
        xen.close();
    }

    private void touch(long... pfns) {
        for (long p : pfns) {
            host.check(host.touch(dom, p, 1, 0xabc0 + p), "touch " + p);
        }
    }

    @Test
    void peekLeavesTheBitsAndCleanTakesThem() throws Exception {
        xen.enableDirtyLogging(dom);
        assertTrue(xen.domainInfo(dom).dirtyLogging());
        touch(3, 64, 65, 4095);
        long[] expected = {3, 64, 65, 4095};

        PageBitmap peek = xen.readDirtyLog(dom, false);
        assertEquals(4096, peek.pageCount());
        assertArrayEquals(expected, peek.toPfns());
        assertArrayEquals(expected, xen.readDirtyLog(dom, false).toPfns(), "a peek does not clear");

        assertArrayEquals(expected, xen.readDirtyLog(dom, true).toPfns(), "clean returns what was dirty");
        assertEquals(0, xen.readDirtyLog(dom, false).cardinality(), "and starts a new round");

        touch(5, 3);
        assertArrayEquals(new long[] {3, 5}, xen.readDirtyLog(dom, true).toPfns(), "only the new round's pages");
        assertEquals(0, xen.readDirtyLog(dom, true).cardinality());
    }

    @Test
    void pagesWrittenBeforeLoggingOrAfterDisablingAreNotReported() throws Exception {
        touch(7);
        xen.enableDirtyLogging(dom);
        assertEquals(0, xen.readDirtyLog(dom, false).cardinality(), "tracking starts clean");
        touch(8);
        xen.disableDirtyLogging(dom);
        assertTrue(!xen.domainInfo(dom).dirtyLogging());
        XenException e = assertThrows(XenException.class, () -> xen.readDirtyLog(dom, true));
        assertEquals(Reason.INVALID_ARGUMENT, e.reason());
        assertTrue(e.getMessage().contains("call slx_logdirty_enable first"), e.getMessage());
        xen.enableDirtyLogging(dom);
        assertEquals(0, xen.readDirtyLog(dom, true).cardinality(), "page 8's bit went with the disable");
    }

    @Test
    void dom0sOwnWritesThroughTheMapAreNotGuestWrites() throws Exception {
        xen.enableDirtyLogging(dom);
        try (GuestMemory m = xen.mapGuestMemory(dom, true)) {
            ByteBuffer page = ByteBuffer.allocate(4096);
            page.put(0, (byte) 7);
            m.write(10, 1, page);
        }
        assertEquals(7, host.guestRead(dom, 10 * 4096, 1)[0], "the write reached the guest");
        assertEquals(0, xen.readDirtyLog(dom, true).cardinality(), "as on Xen, foreign writes are not logged");
    }
}
