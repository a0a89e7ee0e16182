package org.sealift.protocol.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        PageSealingBench.CpuTime cpu = new PageSealingBench.CpuTime();
        b.setup();
        for (int n = 0; n < 2 * PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            long versionBefore = b.versions[i];
            assertEquals(SealedBlob.PAGE_BODY_LENGTH, b.sealerSeal(cpu));
            assertEquals(versionBefore + 1, b.versions[i], "every call seals a new version");
            SealedBlob blob = SealedBlob.decode(b.sealOut.clone());
            assertEquals(i, blob.target());
            assertArrayEquals(b.pages[i], b.opener.open(blob), "the sealed page opens to its plaintext");
        }
    }

    @Test
    void openerBenchmarkRecoversThePages() throws Exception {
        PageSealingBench b = new PageSealingBench();
        PageSealingBench.CpuTime cpu = new PageSealingBench.CpuTime();
        b.setup();
        for (int n = 0; n < PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            assertArrayEquals(b.pages[i], b.openerOpen(cpu));
        }
    }

    @Test
    void rawBenchmarksEncryptAndDecryptTheSamePages() throws Exception {
        PageSealingBench b = new PageSealingBench();
        PageSealingBench.CpuTime cpu = new PageSealingBench.CpuTime();
        b.setup();
        for (int n = 0; n < PageSealingBench.PAGES; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            Arrays.fill(b.openOut, (byte) 0);
            assertEquals(PageSealingBench.PAGE, b.rawAesGcmOpen(cpu));
            assertArrayEquals(b.pages[i], b.openOut);
        }
        byte[] first = null;
        for (int n = 0; n < 2; n++) {
            int i = b.next & (PageSealingBench.PAGES - 1);
            assertEquals(PageSealingBench.PAGE + 16, b.rawAesGcmSeal(cpu));
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
        // 1000 pages in 2 ms of CPU time: 500 000 pages per CPU-second
        assertEquals(2048.0, BenchMain.megabytesPerCpuSecond(1000, 2_000_000), 1e-9);
    }

    @Test
    void cpuTimeCountsThePagesAndTheThreadsCpuTime() throws Exception {
        PageSealingBench b = new PageSealingBench();
        PageSealingBench.CpuTime cpu = new PageSealingBench.CpuTime();
        b.setup();
        cpu.start();
        for (int n = 0; n < 1000; n++) {
            b.sealerSeal(cpu);
        }
        cpu.stop();
        assertEquals(1000, cpu.pages);
        assertTrue(cpu.cpuNanos > 0, "sealing 1000 pages takes CPU time");
    }
}
