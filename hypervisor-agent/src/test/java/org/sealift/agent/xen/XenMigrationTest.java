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
 */
class XenMigrationTest {

    private static final int EBUSY = 16;
    private static final int PAGES = 16 * 256;

    @TempDir
    Path tmp;

    /** Source memory and vCPU blocks as they were when the engine destroyed the source (paused since the pause). */
    private byte[] sourceImage;
    private final List<byte[]> sourceVcpus = new ArrayList<>();

    @Test
    void aRunningGuestMovesToTheOtherHostBitForBit() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("host-a"), FakeXen.UNPATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("host-b"), FakeXen.UNPATCHED);
        DomainConfig cfg = new DomainConfig("migrant", 16, 2, List.of(), WorkloadSpec.idle(0));
        try (XenBackend xa = a.open(); XenBackend xb = b.open()) {
            int dom = xa.createDomain(cfg).domId();
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

            HypervisorBackend source = snapshotOnDestroy(xa, a);
            MigrationOptions options = MigrationOptions.defaults(MigrationMode.PLAIN).withDowntimeTargetMs(1)
                    .withMaxRounds(4);
            Transport[] pair = ChannelTransport.loopbackPair();
            DestinationMigration d = new DestinationMigration(xb, cfg, Optional.empty(), pair[1], MigrationMode.PLAIN,
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
            assertTrue(rounds.size() >= 3, "the guest kept writing, so live rounds re-sent pages: " + rounds);
            assertEquals(PAGES, rounds.get(0).pagesSent(), "round 0 sends every page");
            assertTrue(rounds.get(0).pagesZero() >= PAGES / 4, "zero pages went as zero markers: " + rounds.get(0));
            RoundStats last = rounds.get(rounds.size() - 1);
            assertTrue(last.stopAndCopy() && last.pagesSent() > 0,
                    "pages dirtied before the pause went with the stop-and-copy: " + rounds);

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

    /** The source backend, seen through a proxy that photographs the domain just before the engine destroys it. */
    private HypervisorBackend snapshotOnDestroy(XenBackend xen, FakeXen host) {
        return (HypervisorBackend) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HypervisorBackend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("destroyDomain")) {
                        int dom = (Integer) args[0];
                        sourceImage = host.memory(dom, PAGES);
                        for (int v = 0; v < 2; v++) {
                            sourceVcpus.add(xen.vcpuContext(dom, v));
                        }
                    }
                    try {
                        return method.invoke(xen, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
