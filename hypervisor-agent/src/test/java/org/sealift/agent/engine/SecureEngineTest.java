package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.bench.SimCluster;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;

/** The engine on both ends between two simulated hypervisor processes. */
class SecureEngineTest {

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

    @Test
    void secureMigrationCommitsWithProtectedMemoryBitForBit() throws Exception {
        DomainConfig c = new DomainConfig("e2e-" + (++n), 16, 2, List.of(ProtectedProcessSpec.of("vault", 1024, 1024)),
                WorkloadSpec.idle(50).withNormal(1, 2000).withProtected(64, 500).withSecretMarker(11));
        int src = h1.createDomain(c).domId();
        h1.resume(src);
        SimRun m = new SimRun(h1, h2, c, src, MigrationOptions.defaults(MigrationMode.SECURE)).run();
        assertEquals(MigrationOutcome.COMMITTED, m.source.summary().outcome(), m.everything().toString());
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertNotNull(m.digestAtFreeze);
        assertArrayEquals(m.digestAtFreeze, m.digestAtReady, "verified copy = what the source sealed last");
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertEquals(MigrationState.COMMITTED, m.source.decision().orElseThrow().state());
        AttestationRecord rec = SimRun.record(m.source);
        assertEquals(Outcome.COMMITTED, rec.outcome());
        assertTrue(m.source.summary().pagesProtected() >= 1024, "every protected page went sealed");
        assertTrue(m.source.summary().downtimeNanos() > 0);
        assertDowntimeSteps(m.source, List.of(MigrationResult.STEP_LAST_ROUND, MigrationResult.STEP_MANIFEST,
                MigrationResult.STEP_DESTINATION_CHECK, MigrationResult.STEP_RELEASE, MigrationResult.STEP_RESUME));
        assertTrue(m.destination.downtimeSteps().isEmpty(), "the destination does not see the pause");
        h2.destroyDomain(m.dstDom);
    }

    /** The steps come in protocol order and add up to the downtime exactly: nothing is left out or counted twice. */
    static void assertDowntimeSteps(MigrationResult r, List<String> expected) {
        assertEquals(expected, List.copyOf(r.downtimeSteps().keySet()));
        long sum = r.downtimeSteps().values().stream().mapToLong(Long::longValue).sum();
        assertEquals(r.summary().downtimeNanos(), sum, "steps " + r.downtimeSteps());
        assertTrue(r.downtimeSteps().values().stream().allMatch(v -> v >= 0), "steps " + r.downtimeSteps());
    }

    @Test
    void plainMigrationOfAnUnprotectedVmCommits() throws Exception {
        DomainConfig c = new DomainConfig("plain-" + (++n), 16, 1, List.of(),
                WorkloadSpec.idle(50).withNormal(1, 2000));
        int src = h1.createDomain(c).domId();
        h1.resume(src);
        SimRun m = new SimRun(h1, h2, c, src, MigrationOptions.defaults(MigrationMode.PLAIN)).run();
        assertEquals(MigrationOutcome.COMMITTED, m.source.summary().outcome(), m.everything().toString());
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertDowntimeSteps(m.source, List.of(MigrationResult.STEP_LAST_ROUND, MigrationResult.STEP_RESUME));
        h2.destroyDomain(m.dstDom);
    }

    /**
     * Total migration time ends at the commit (the source holds the destination's DONE, or in plain mode its END
     * after the resume): cleanup after it, here a source domain that takes 400 ms to destroy, is not in it.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(MigrationMode.class)
    void totalTimeEndsAtTheCommitNotAfterTheSourceCleanup(MigrationMode mode) throws Exception {
        boolean secure = mode == MigrationMode.SECURE;
        DomainConfig c = new DomainConfig("total-" + (++n), 16, 1,
                secure ? List.of(ProtectedProcessSpec.of("vault", 256, 256)) : List.of(),
                WorkloadSpec.idle(50).withNormal(1, 2000));
        int src = h1.createDomain(c).domId();
        h1.resume(src);
        SimRun run = new SimRun(h1, h2, c, src, MigrationOptions.defaults(mode));
        long[] destroyed = new long[2];
        run.srcHook = (call, result) -> {
            if (call.equals("backend.destroyDomain")) {
                destroyed[0] = System.nanoTime();
                Thread.sleep(400);
                destroyed[1] = System.nanoTime();
            }
        };
        long t0 = System.nanoTime();
        SimRun m = run.run();
        long wall = System.nanoTime() - t0;
        var summary = m.source.summary();
        assertEquals(MigrationOutcome.COMMITTED, summary.outcome(), m.everything().toString());
        assertTrue(destroyed[1] - destroyed[0] >= 400_000_000L, "the source domain was destroyed, slowly");
        assertTrue(summary.totalNanos() <= destroyed[0] - t0, "total " + summary.totalNanos() / 1e6
                + " ms ends before the source's cleanup began (" + (destroyed[0] - t0) / 1e6 + " ms in)");
        assertTrue(summary.totalNanos() < wall - 400_000_000L, "total " + summary.totalNanos() / 1e6
                + " ms, the whole run " + wall / 1e6 + " ms");
        assertTrue(summary.totalNanos() >= summary.downtimeNanos() && summary.downtimeNanos() > 0);
        h2.destroyDomain(m.dstDom);
    }
}
