package org.sealift.protocol.bench;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.seal.Sealer;

/**
 * Page sealing and opening on one core: the protocol's {@link Sealer} and {@link Opener} next to the JDK's raw
 * AES-256-GCM on the same 4 KiB pages, in one run, so their ratio is the cost of what Sealift adds (header, AAD,
 * per-version cache, checks). One operation = one 4 KiB page. Pages rotate through a working set of
 * {@value #PAGES} (1 MiB), so no benchmark seals the same bytes over and over.
 *
 * <p>Besides JMH's wall-clock score, each benchmark counts pages and the CPU time of its thread, so the report can
 * also give MB per CPU-second: on a machine shared with other work the wall clock measures the neighbours as much as
 * the code, the thread's CPU time much less so.
 *
 * <p>Both sides do what one page needs: a fresh nonce and GCM parameters, init, a 53-octet AAD, doFinal into a
 * buffer that exists already. Sealing uses a new version per call (a re-send of a sealed version is a copy, not a
 * sealing).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class PageSealingBench {

    static final int PAGE = 4096;
    static final int PAGES = 256;
    static final int PROCESS = 7;
    private static final int TAG_BITS = 128;
    private static final int AAD_LENGTH = 53;

    byte[][] pages;
    SecretKey key;
    Sealer sealer;
    Opener opener;
    long[] versions;
    SealedBlob[] sealed;
    byte[] sealOut;
    byte[] openOut;

    Cipher rawCipher;
    byte[] rawAad;
    long rawCounter;
    byte[][] rawCiphertexts;
    byte[][] rawNonces;

    int next;

    /** Pages done and CPU time used by the benchmark thread in one iteration (reported next to the score). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class CpuTime {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        public long pages;
        public long cpuNanos;
        private long start;

        @Setup(Level.Iteration)
        public void start() {
            pages = 0;
            cpuNanos = 0;
            start = THREADS.getCurrentThreadCpuTime();
        }

        @TearDown(Level.Iteration)
        public void stop() {
            cpuNanos = THREADS.getCurrentThreadCpuTime() - start;
        }
    }

    @Setup(Level.Trial)
    public void setup() throws GeneralSecurityException, ProtocolException {
        Random random = new Random(20260301L);
        byte[] k = new byte[32];
        random.nextBytes(k);
        key = new SecretKeySpec(k, "AES");
        byte[] mid = new byte[MigrationId.LENGTH];
        random.nextBytes(mid);
        UUID vm = new UUID(random.nextLong(), random.nextLong());
        sealer = new Sealer(key, MigrationId.of(mid), vm);
        opener = new Opener(key, MigrationId.of(mid), vm);

        pages = new byte[PAGES][PAGE];
        versions = new long[PAGES];
        sealed = new SealedBlob[PAGES];
        for (int i = 0; i < PAGES; i++) {
            random.nextBytes(pages[i]);
            sealed[i] = sealer.sealPage(PROCESS, i, ++versions[i], pages[i], 0);
        }
        sealOut = new byte[SealedBlob.PAGE_BODY_LENGTH];
        openOut = new byte[PAGE];

        // the raw side: same key, same page sizes, an AAD as long as the protocol's
        rawCipher = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        rawAad = new byte[AAD_LENGTH];
        random.nextBytes(rawAad);
        rawCiphertexts = new byte[PAGES][PAGE + TAG_BITS / 8];
        rawNonces = new byte[PAGES][];
        for (int i = 0; i < PAGES; i++) {
            rawNonces[i] = nonce(0x52415721, ++rawCounter);
            rawCipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, rawNonces[i]));
            rawCipher.updateAAD(rawAad);
            rawCipher.doFinal(pages[i], 0, PAGE, rawCiphertexts[i], 0);
        }
    }

    private static byte[] nonce(int prefix, long counter) {
        return ByteBuffer.allocate(12).putInt(prefix).putLong(counter).array();
    }

    private int nextPage() {
        return next++ & (PAGES - 1);
    }

    /** Sealer: a new version of page i, encrypted straight into the send buffer (the agent's fast path). */
    @Benchmark
    public int sealerSeal(CpuTime cpu) throws ProtocolException {
        cpu.pages++;
        int i = nextPage();
        return sealer.sealPageInto(PROCESS, i, ++versions[i], pages[i], 0, sealOut, 0);
    }

    /** The JDK alone: AES-256-GCM of one page under a fresh nonce. */
    @Benchmark
    public int rawAesGcmSeal(CpuTime cpu) throws GeneralSecurityException {
        cpu.pages++;
        int i = nextPage();
        rawCipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce(0x52415721, ++rawCounter)));
        rawCipher.updateAAD(rawAad);
        return rawCipher.doFinal(pages[i], 0, PAGE, sealOut, 0);
    }

    /** Opener: authenticate and decrypt one SEALED page into a page buffer. */
    @Benchmark
    public byte[] openerOpen(CpuTime cpu) throws ProtocolException {
        cpu.pages++;
        opener.open(sealed[nextPage()], openOut, 0);
        return openOut;
    }

    /** The JDK alone: authenticate and decrypt one page. */
    @Benchmark
    public int rawAesGcmOpen(CpuTime cpu) throws GeneralSecurityException {
        cpu.pages++;
        int i = nextPage();
        rawCipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, rawNonces[i]));
        rawCipher.updateAAD(rawAad);
        return rawCipher.doFinal(rawCiphertexts[i], 0, rawCiphertexts[i].length, openOut, 0);
    }
}
