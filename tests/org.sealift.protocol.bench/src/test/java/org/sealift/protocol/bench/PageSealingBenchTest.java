package org.sealift.protocol.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Arrays;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.seal.SealedBlob;

/**
 * The benchmarks measure real work: each benchmark method, called directly (JMH does not run here), seals or opens
 * a real page, and what it produces opens back to the page. A benchmark that silently failed or skipped the crypto
 * would report a meaningless speed.
 */
class PageSealingBenchTest {

    @Test
    void sealerBenchmarkSealsPagesTheOpenerAccepts() throws Exception {
        PageSealingBench b = new PageSealingBench();
        b.setup();
        for (int n = 0; n < 2 * PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            long versionBefore = b.versions[i];
            assertEquals(SealedBlob.PAGE_BODY_LENGTH, b.sealerSeal());
            assertEquals(versionBefore + 1, b.versions[i], "every call seals a new version");
            SealedBlob blob = SealedBlob.decode(b.sealOut.clone());
            assertEquals(i, blob.target());
            assertArrayEquals(b.pages[i], b.opener.open(blob), "the sealed page opens to its plaintext");
        }
    }

    @Test
    void openerBenchmarkRecoversThePages() throws Exception {
        PageSealingBench b = new PageSealingBench();
        b.setup();
        for (int n = 0; n < PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            assertArrayEquals(b.pages[i], b.openerOpen());
        }
    }

    @Test
    void rawBenchmarksEncryptAndDecryptTheSamePages() throws Exception {
        PageSealingBench b = new PageSealingBench();
        b.setup();
        for (int n = 0; n < PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            Arrays.fill(b.openOut, (byte) 0);
            assertEquals(PageSealingBench.PAGE, b.rawAesGcmOpen());
            assertArrayEquals(b.pages[i], b.openOut);
        }
        byte[] first = null;
        for (int n = 0; n < 2; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            assertEquals(PageSealingBench.PAGE + 16, b.rawAesGcmSeal());
            byte[] nonce = java.nio.ByteBuffer.allocate(12).putInt(0x52415721).putLong(b.rawCounter).array();
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, b.key, new GCMParameterSpec(128, nonce));
            c.updateAAD(b.rawAad);
            assertArrayEquals(b.pages[i], c.doFinal(b.sealOut, 0, PageSealingBench.PAGE + 16));
            if (first == null) {
                first = b.sealOut.clone();
            } else {
                assertNotEquals(Arrays.toString(first), Arrays.toString(b.sealOut), "a fresh nonce per page");
            }
        }
    }

    @Test
    void throughputIsPagesTimesFourKibibytes() {
        assertEquals(4.096, BenchMain.megabytesPerSecond(1000), 1e-9);
    }
}
