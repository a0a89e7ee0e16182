package org.sealift.protocol.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sealift.protocol.seal.Fixtures.KEY;
import static org.sealift.protocol.seal.Fixtures.MIGRATION;
import static org.sealift.protocol.seal.Fixtures.VM;
import static org.sealift.protocol.seal.Fixtures.page;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;

class SealerTest {

    private final Sealer sealer = new Sealer(KEY, MIGRATION, VM);

    @Test
    void resendingTheSameVersionReusesTheSealingAndNoNonceIsSpent() throws Exception {
        SealedBlob first = sealer.sealPage(3, 100, 1, page(1), 0);
        // dom0 asks again (it cleared the dirty bit, or simply re-requests the page): same blob, same counter
        SealedBlob again = sealer.sealPage(3, 100, 1, page(1), 0);
        assertArrayEquals(first.body(), again.body());
        assertEquals(0, again.counter());
        assertEquals(1, sealer.sealings());
    }

    @Test
    void aNewVersionIsSealedWithAFreshCounter() throws Exception {
        SealedBlob v1 = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob v2 = sealer.sealPage(3, 100, 2, page(2), 0);
        assertEquals(0, v1.counter());
        assertEquals(1, v2.counter());
        assertArrayEquals(v2.body(), sealer.latestPage(100).body());
    }

    @Test
    void samePlaintextUnderDifferentCountersGivesDifferentCiphertext() throws Exception {
        SealedBlob a = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob b = sealer.sealPage(3, 100, 2, page(1), 0);
        assertNotEquals(java.util.HexFormat.of().formatHex(a.tag()), java.util.HexFormat.of().formatHex(b.tag()));
    }

    @Test
    void aVersionThatGoesBackwardsIsAHypervisorBugAndRefused() throws Exception {
        sealer.sealPage(3, 100, 5, page(1), 0);
        assertThrows(IllegalArgumentException.class, () -> sealer.sealPage(3, 100, 4, page(1), 0));
        assertThrows(IllegalArgumentException.class, () -> sealer.sealPage(4, 100, 6, page(1), 0));
    }

    @Test
    void counterExhaustionAbortsBeforeTheCounterCouldWrap() throws Exception {
        Sealer nearEnd = new Sealer(KEY, MIGRATION, VM, 0xFFFF_FFFF_FFFF_FFFDL);
        SealedBlob a = nearEnd.sealPage(3, 1, 1, page(1), 0);
        SealedBlob b = nearEnd.sealVcpu(3, 0, 1, Fixtures.fill(64, 1));
        assertEquals(0xFFFF_FFFF_FFFF_FFFDL, a.counter());
        assertEquals(0xFFFF_FFFF_FFFF_FFFEL, b.counter());
        ProtocolException e = assertThrows(ProtocolException.class, () -> nearEnd.sealPage(3, 2, 1, page(2), 0));
        assertEquals(Reason.EXHAUSTED, e.reason());
        // still exhausted on the next attempt: the counter never moved past the limit
        assertEquals(Reason.EXHAUSTED,
                assertThrows(ProtocolException.class, () -> nearEnd.sealPage(3, 3, 1, page(3), 0)).reason());
        // a re-send of an existing sealing needs no nonce and still works
        assertArrayEquals(a.body(), nearEnd.sealPage(3, 1, 1, page(1), 0).body());
        // and the failed sealing left nothing behind
        assertEquals(null, nearEnd.latestPage(2));
    }

    @Test
    void fastPathSealsIntoTheCallersBufferAndReSendsFromTheCache() throws Exception {
        byte[] out = new byte[10 + SealedBlob.PAGE_BODY_LENGTH];
        assertEquals(SealedBlob.PAGE_BODY_LENGTH, sealer.sealPageInto(3, 100, 1, page(1), 0, out, 10));
        byte[] body = java.util.Arrays.copyOfRange(out, 10, out.length);
        SealedBlob blob = SealedBlob.decode(body);
        assertEquals(100, blob.target());
        assertArrayEquals(page(1), new Opener(KEY, MIGRATION, VM).open(blob));
        byte[] again = new byte[SealedBlob.PAGE_BODY_LENGTH];
        sealer.sealPageInto(3, 100, 1, page(1), 0, again, 0);
        assertArrayEquals(body, again, "the same version is re-sent byte for byte");
        assertEquals(1, sealer.sealings());
        assertArrayEquals(body, sealer.sealPage(3, 100, 1, page(1), 0).body());
    }

    @Test
    void sealedPagesAreOpenedByTheMatchingOpener() throws Exception {
        byte[] plain = new byte[8192];
        System.arraycopy(page(9), 0, plain, 4096, 4096);
        SealedBlob blob = sealer.sealPage(3, 100, 1, plain, 4096);
        assertArrayEquals(page(9), new Opener(KEY, MIGRATION, VM).open(blob));
    }

    @Test
    void manifestListsTheLatestSealingOfEveryPageAndContextAndFreezesTheSealer() throws Exception {
        sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob latest = sealer.sealPage(3, 100, 2, page(2), 0);
        SealedBlob other = sealer.sealPage(4, 200, 1, page(3), 0);
        SealedBlob ctx = sealer.sealVcpu(4, 1, 7, Fixtures.fill(128, 4));
        Manifest m = sealer.buildManifest(Map.of(3, Fixtures.fill(32, 3), 4, Fixtures.fill(32, 4),
                5, Fixtures.fill(32, 5)));
        assertTrue(sealer.isFrozen());
        assertEquals(2, m.totalPages());
        Manifest.ProcessEntry p3 = m.process(3);
        assertEquals(2, p3.pageVersion(p3.pageIndex(100)));
        assertArrayEquals(latest.tag(), p3.pageTag(p3.pageIndex(100)));
        Manifest.ProcessEntry p4 = m.process(4);
        assertArrayEquals(other.tag(), p4.pageTag(p4.pageIndex(200)));
        assertArrayEquals(ctx.tag(), p4.contextTag(p4.contextIndex(1)));
        assertEquals(0, m.process(5).pageCount(), "a process with nothing sealed is listed with empty tables");

        ProtocolException e = assertThrows(ProtocolException.class, () -> sealer.sealPage(3, 101, 1, page(4), 0));
        assertEquals(Reason.UNEXPECTED_RECORD, e.reason());
    }

    @Test
    void manifestNeedsTheKeyOfEveryProcessWithSealedPages() throws Exception {
        sealer.sealPage(3, 100, 1, page(1), 0);
        assertThrows(IllegalArgumentException.class, () -> sealer.buildManifest(Map.of()));
    }

    @Test
    void concurrentSealingNeverReusesACounter() throws Exception {
        int threads = 2;
        int perThread = 200;
        java.util.Set<Long> counters = java.util.concurrent.ConcurrentHashMap.newKeySet();
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int base = t * perThread;
            ts[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < perThread; i++) {
                        counters.add(sealer.sealPage(1, base + i, 1, page(i), 0).counter());
                    }
                } catch (ProtocolException e) {
                    throw new AssertionError(e);
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(threads * perThread, counters.size());
        assertEquals(threads * perThread, sealer.sealings());
    }

    @Test
    void aViewOverAReceiversArrayReadsAndOpensLikeTheDecodedBody() throws Exception {
        SealedBlob sealed = sealer.sealPage(3, 100, 7, page(9), 0);
        byte[] body = sealed.body();
        byte[] received = new byte[body.length + 40];
        System.arraycopy(body, 0, received, 24, body.length);
        SealedBlob view = SealedBlob.view(received, 24, body.length);
        assertEquals(100, view.target());
        assertEquals(7, view.version());
        assertArrayEquals(body, view.body());
        assertArrayEquals(sealed.tag(), view.tag());
        byte[] tags = new byte[48];
        view.copyTag(tags, 16);
        assertArrayEquals(sealed.tag(), java.util.Arrays.copyOfRange(tags, 16, 32));
        Opener opener = new Opener(KEY, MIGRATION, VM);
        assertArrayEquals(page(9), opener.open(view));
        // the record made from a view owns its body: the receiver's array may be reused afterwards
        var record = view.toRecord(5);
        java.util.Arrays.fill(received, (byte) 0);
        assertArrayEquals(body, record.body());
        // and a view checks the header like decode does
        received[24] = 7;
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> SealedBlob.view(received, 24, body.length)).reason());
        assertThrows(IndexOutOfBoundsException.class, () -> SealedBlob.view(received, 30, body.length + 20));
    }
}
