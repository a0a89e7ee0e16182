package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.DestinationMigration;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.RoundStats;

/**
 * A live migration between two fake Xen hosts, driven by Sealift's pre-copy engine (plain mode) over two
 * XenBackends, with the guest writing memory on the source until the engine pauses it. Everything below the engine is
 * the real path: JNA, libsealift-xen, and fakexen's Xen-named libraries, one state directory per host.
 *
 * <p>Besides a guest thread that rewrites a hot set at its own pace, the guest also writes at two fixed moments, so
 * that the run does not depend on timing: {@value #BURST} fresh pages right after every CLEAN (more than the dirty
 * threshold, so the engine goes on to its round limit; the last live CLEAN returns the last burst, and only that
 * CLEAN does) and a fresh page just before the pause takes effect (only the CLEAN after the pause returns it).
 * Losing either set in the stop-and-copy (native/README.md's lesson) loses pages and fails the comparison.
 */
class XenMigrationTest {

    private static final int EBUSY = 16;
    private static final int PAGES = 16 * 256;
    private static final int BURST = 64;
    private static final int MAX_ROUNDS = 4;

    @TempDir
    Path tmp;

    /** Source memory and vCPU blocks as they were when the engine destroyed the source (paused since the pause). */
    private byte[] sourceImage;
    private final List<byte[]> sourceVcpus = new ArrayList<>();
    /** First pages of the bursts the guest wrote right after each CLEAN, and the page it wrote before the pause. */
    private final List<Long> afterClean = new ArrayList<>();
    private long beforePause = -1;

    @Test
    void aRunningGuestMovesToTheOtherHostBitForBit() throws Exception {
        migrate(false);
    }

    /**
     * The same with libxl's PVH layout on both hosts: special pages just below 4 GiB, so Xen's max_gpfn + 1 spans
     * about a million frames, nearly all a hole. Only the RAM moves, and the run is otherwise the same.
     */
    @Test
    void aPvhGuestWithSpecialPagesNear4GiBMovesOnlyItsRam() throws Exception {
        migrate(true);
    }

    private void migrate(boolean pvhLayout) throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("host-a"), FakeXen.UNPATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("host-b"), FakeXen.UNPATCHED);
        DomainConfig cfg = new DomainConfig("migrant", 16, 2, List.of(), WorkloadSpec.idle(0));
        try (XenBackend xa = a.open(); XenBackend xb = b.open()) {
            int dom = xa.createDomain(cfg).domId();
            if (pvhLayout) {
                a.pvhLayout(dom, FakeXen.PVH_SPECIAL_TOP);
                assertEquals(PAGES, xa.domainInfo(dom).pageCount(), "the RAM, not the span up to max_gpfn");
            }
            xa.resume(dom);
            // three quarters of the pages carry data, the rest stay zero (sent as zero markers)
            for (long pfn = 0; pfn < PAGES * 3 / 4; pfn += 256) {
                a.check(a.touch(dom, pfn, 256, 0x5eed0000L + pfn), "fill");
            }

            // the guest keeps rewriting a hot set until the engine pauses it
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong writes = new AtomicLong();
            AtomicLong unexpected = new AtomicLong();
            Thread guest = new Thread(() -> {
                long stamp = 1;
                while (!stop.get()) {
                    int rc = a.touch(dom, (stamp * 37) % 256, 1, stamp);
                    if (rc == -EBUSY) {
                        break; // paused for the stop-and-copy: a paused guest does not run
                    }
                    if (rc != 0) {
                        unexpected.incrementAndGet();
                        break;
                    }
                    writes.incrementAndGet();
                    stamp++;
                    LockSupport.parkNanos(50_000);
                }
            }, "fake-guest");
            guest.start();
            while (writes.get() < 100) {
                Thread.onSpinWait(); // the guest is running before the migration starts
            }

            HypervisorBackend source = guestAtTheEdges(xa, a);
            // threshold 50 < BURST, and at 50 MiB/s a burst is estimated at 5 ms > the 1 ms target: only the round
            // limit ends the live rounds
            MigrationOptions options = new MigrationOptions(MigrationMode.PLAIN, MAX_ROUNDS, 50, 1, 50,
                    MigrationOptions.DEFAULT_MAX_SENT_FACTOR);
            Transport[] pair = ChannelTransport.loopbackPair();
            HypervisorBackend destination = pvhLayout ? laidOutAsPvh(xb, b) : xb;
            DestinationMigration d = new DestinationMigration(destination, cfg, Optional.empty(), pair[1],
                    MigrationMode.PLAIN,
                    EngineConfig.DEFAULTS, List.of());
            CompletableFuture<MigrationResult> dr = CompletableFuture.supplyAsync(d::run);
            MigrationResult sr = new SourceMigration(source, dom, Optional.empty(), pair[0], options,
                    EngineConfig.DEFAULTS, List.of()).run();
            MigrationResult dres = dr.get();
            stop.set(true);
            guest.join();

            assertEquals(MigrationOutcome.COMMITTED, sr.summary().outcome(), sr.summary().reason());
            assertEquals(MigrationOutcome.COMMITTED, dres.summary().outcome(), dres.summary().reason());
            assertEquals(0, unexpected.get(), "the guest only ever stopped because it was paused");
            List<RoundStats> rounds = sr.summary().rounds();
            assertEquals(MAX_ROUNDS + 1, rounds.size(), "live rounds up to the limit, then stop-and-copy: " + rounds);
            for (int r = 1; r < MAX_ROUNDS; r++) {
                assertTrue(rounds.get(r).pagesSent() >= BURST, "round " + r + " re-sent what was written: " + rounds);
            }
            assertEquals(PAGES, rounds.get(0).pagesSent(), "round 0 sends every page");
            assertTrue(rounds.get(0).pagesZero() >= PAGES / 4, "zero pages went as zero markers: " + rounds.get(0));
            RoundStats last = rounds.get(rounds.size() - 1);
            assertTrue(last.stopAndCopy() && last.pagesSent() >= 2 * BURST + 1,
                    "the last live CLEAN's burst, the burst after it and the page written before the pause went with"
                            + " the stop-and-copy: " + rounds);
            assertEquals(MAX_ROUNDS + 1, afterClean.size(), "a burst after the first CLEAN and after each live round");
            assertEquals(3500, beforePause);

            // destination: runs, with the source's memory and vCPUs as they were at the pause
            int ddom = xb.domainByName("migrant").domId();
            assertEquals(DomainState.RUNNING, xb.domainInfo(ddom).state());
            byte[] arrived = b.memory(ddom, PAGES);
            assertEquals(sourceImage.length, arrived.length);
            assertEquals(-1, java.util.Arrays.mismatch(sourceImage, arrived),
                    "first differing byte (page " + java.util.Arrays.mismatch(sourceImage, arrived) / 4096 + ")");
            for (int v = 0; v < 2; v++) {
                assertArrayEquals(sourceVcpus.get(v), xb.vcpuContext(ddom, v), "vCPU " + v);
            }
            // source: destroyed after the commit
            HypervisorException gone = assertThrows(HypervisorException.class, () -> xa.domainInfo(dom));
            assertEquals(Reason.NOT_FOUND, gone.reason());
            assertTrue(xa.listDomains().isEmpty());
            // the copy runs on its own now
            assertEquals(0, b.touch(ddom, 0, 1, 0xd00dL));
        }
    }

    /** The destination's backend, whose created domains get libxl's PVH layout as a real PVH domain would. */
    private static HypervisorBackend laidOutAsPvh(XenBackend xen, FakeXen host) {
        return (HypervisorBackend) Proxy.newProxyInstance(XenMigrationTest.class.getClassLoader(),
                new Class<?>[] {HypervisorBackend.class}, (proxy, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(xen, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (method.getName().equals("createDomain")) {
                        int dom = ((org.sealift.agent.spi.DomainInfo) result).domId();
                        host.pvhLayout(dom, FakeXen.PVH_SPECIAL_TOP);
                        result = xen.domainInfo(dom);
                    }
                    return result;
                });
    }

    /**
     * The source backend seen through a proxy that lets the guest write at the edges the engine cannot see (right
     * after a CLEAN, right before the pause) and photographs the domain just before the engine destroys it.
     */
    private HypervisorBackend guestAtTheEdges(XenBackend xen, FakeXen host) {
        return (HypervisorBackend) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HypervisorBackend.class}, (proxy, method, args) -> {
                    String name = method.getName();
                    if (name.equals("pause")) {
                        beforePause = 3500;
                        host.check(host.touch((Integer) args[0], beforePause, 1, 0xbef0e000L), "write before the pause");
                    } else if (name.equals("destroyDomain")) {
                        int dom = (Integer) args[0];
                        sourceImage = host.memory(dom, PAGES);
                        for (int v = 0; v < 2; v++) {
                            sourceVcpus.add(xen.vcpuContext(dom, v));
                        }
                    }
                    Object result;
                    try {
                        result = method.invoke(xen, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (name.equals("readDirtyLog") && (Boolean) args[1]) {
                        long pfn = 1024 + BURST * afterClean.size(); // pages no one else writes, once each
                        int rc = host.touch((Integer) args[0], pfn, BURST, 0xc1ea0000L + pfn);
                        if (rc == 0) {
                            afterClean.add(pfn);
                        } else if (rc != -EBUSY) { // after the pause the guest no longer runs
                            host.check(rc, "write after a CLEAN");
                        }
                    }
                    return result;
                });
    }
}
