package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sealift.agent.bench.SimCluster;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.RoundStats;
import org.sealift.protocol.attest.Outcome;

/**
 * Migrations that should simply work, over VM sizes and working sets, in both modes: the VM commits, runs at the
 * destination, and both its normal memory (as of the pause) and, in secure mode, its protected memory (as sealed)
 * arrive bit for bit. Sizes here are small (16–128 MiB); the benchmark covers 256 MiB–4 GiB.
 */
class HappyPathTest {

    @TempDir
    static Path dir;
    static SimCluster cluster;
    static SimBackend h1;
    static SimBackend h2;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimCluster.start(dir, true, "h1", "h2");
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of(MigrationMode.SECURE, 16, 0), Arguments.of(MigrationMode.SECURE, 64, 4),
                Arguments.of(MigrationMode.SECURE, 128, 16), Arguments.of(MigrationMode.PLAIN, 16, 0),
                Arguments.of(MigrationMode.PLAIN, 64, 4), Arguments.of(MigrationMode.PLAIN, 128, 16));
    }

    /** SHA-256 over the normal (unprotected) pages: what dom0 may read on both hosts alike. */
    static byte[] normalMemoryDigest(HypervisorBackend host, int dom) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        PageBitmap prot = host.protectedPages(dom);
        try (GuestMemory mem = host.mapGuestMemory(dom, false)) {
            byte[] page = new byte[4096];
            for (long first = 0; first < mem.pageCount(); first += mem.maxSlicePages()) {
                int count = (int) Math.min(mem.maxSlicePages(), mem.pageCount() - first);
                ByteBuffer s = mem.slice(first, count);
                for (int i = 0; i < count; i++) {
                    if (!prot.get(first + i)) {
                        s.get(i * 4096, page);
                        md.update(page);
                    }
                }
            }
        }
        return md.digest();
    }

    @ParameterizedTest(name = "{0} {1} MiB, working set {2} MiB")
    @MethodSource("cases")
    void migratesAndArrivesBitForBit(MigrationMode mode, int memMiB, int wwsMiB) throws Exception {
        boolean secure = mode == MigrationMode.SECURE;
        long pages = memMiB * 256L;
        // secure: a quarter of memory and of the working set belongs to protected processes
        List<ProtectedProcessSpec> procs = secure ? List.of(ProtectedProcessSpec.of("vault", pages / 2, pages / 4))
                : List.of();
        WorkloadSpec w = WorkloadSpec.idle(60).withSeed(memMiB + wwsMiB);
        if (wwsMiB > 0) {
            long wwsPages = wwsMiB * 256L;
            w = w.withNormal(secure ? wwsMiB * 3 / 4 : wwsMiB, wwsPages * 10);
            if (secure) {
                w = w.withProtected(wwsPages / 4, wwsPages * 10 / 4);
            }
        }
        DomainConfig c = new DomainConfig("happy-" + (++n), memMiB, 2, procs, w);
        int src = h1.createDomain(c).domId();
        h1.resume(src);
        SimRun m = new SimRun(h1, h2, c, src, MigrationOptions.defaults(mode));
        AtomicReference<byte[]> atPause = new AtomicReference<>();
        AtomicReference<byte[]> beforeResume = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("backend.pause")) {
                atPause.set(normalMemoryDigest(h1, src));
            }
        };
        m.dstHook = (call, result) -> {
            // the last call before the destination runs the VM: every page has been applied by then
            if (call.equals(secure ? "destination.onManifest" : "backend.setVcpuContext")) {
                beforeResume.set(normalMemoryDigest(h2, m.dstDom));
            }
        };
        m.run();
        String all = m.everything().toString();
        assertEquals(MigrationOutcome.COMMITTED, m.source.summary().outcome(), all);
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), all);
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertNotNull(atPause.get());
        assertArrayEquals(atPause.get(), beforeResume.get(), "normal memory as of the pause arrived: " + all);
        List<RoundStats> rounds = m.source.summary().rounds();
        assertTrue(rounds.get(rounds.size() - 1).stopAndCopy());
        assertEquals(pages, rounds.get(0).pagesSent(), "round 0 sends every page");
        if (secure) {
            assertArrayEquals(m.digestAtFreeze, m.digestAtReady, "protected memory as sealed arrived");
            assertEquals(pages / 4, rounds.get(0).pagesProtected());
            assertEquals(Outcome.COMMITTED, SimRun.record(m.source).outcome());
        } else {
            assertEquals(0, m.source.summary().pagesProtected());
        }
        assertTrue(m.source.summary().downtimeNanos() > 0);
        h2.destroyDomain(m.dstDom);
    }
}
