package org.sealift.agent.engine;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

class ScratchPerfTest {
    @Test
    void perf() throws Exception {
        int mib = Integer.getInteger("mib", 1024);
        int fill = Integer.getInteger("fill", 50);
        for (int run = 0; run < 3; run++) {
            InProcessPlainHost src = new InProcessPlainHost();
            InProcessPlainHost dst = new InProcessPlainHost();
            dst.fillOnCreate = false;
            dst.imageOnResume = false;
            DomainConfig cfg = new DomainConfig("p" + run, mib, 1, List.of(), WorkloadSpec.idle(fill));
            int dom = src.createDomain(cfg).domId();
            src.resume(dom);
            Transport[] pair = ChannelTransport.loopbackPair();
            DestinationMigration d = new DestinationMigration(dst, cfg, Optional.empty(), pair[1], MigrationMode.PLAIN,
                    EngineConfig.DEFAULTS, List.of());
            CompletableFuture<MigrationResult> dr = CompletableFuture.supplyAsync(d::run);
            long t0 = System.nanoTime();
            MigrationResult r = new SourceMigration(src, dom, Optional.empty(), pair[0],
                    MigrationOptions.defaults(MigrationMode.PLAIN), EngineConfig.DEFAULTS, List.of()).run();
            long t = System.nanoTime() - t0;
            dr.get();
            System.out.printf("PERF %d MiB fill %d%%: %s total %.1f ms, %.2f GB/s, downtime %.2f ms, bytes %d%n", mib, fill,
                    r.summary().outcome(), t / 1e6, mib * 1048576.0 / t, r.summary().downtimeNanos() / 1e6,
                    r.summary().bytes());
            System.out.println("PERF reason " + r.summary().reason() + " rounds " + r.summary().rounds());
            src.close();
            dst.close();
        }
    }
}
