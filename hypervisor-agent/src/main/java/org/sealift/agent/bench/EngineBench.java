package org.sealift.agent.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.DestinationMigration;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationSummary;

/**
 * The engine benchmark ({@code ./sealift bench --engine [--json FILE]}): two simulated hosts on this machine, the
 * real engine on both ends over loopback, VMs of 256 MiB, 1 GiB and 4 GiB with writable working sets of 0, 16 and
 * 64 MiB; secure mode with a quarter of memory and of the working set in protected processes, plain mode on the
 * same VM without them; 3 runs each; a table of medians and the secure/plain ratios.
 */
public final class EngineBench {

    /** One measured configuration (medians over its runs). */
    record Row(int memMiB, int wwsMiB, MigrationMode mode, double totalMs, double downtimeMs, int rounds, long bytes,
            List<double[]> runs) {

        /** Guest bytes migrated per second of total time. */
        double throughputGBps() {
            return memMiB * 1048576.0 / (totalMs / 1000.0) / 1e9;
        }
    }

    private final List<Integer> sizes;
    private final List<Integer> workingSets;
    private final int runs;
    private final int fillPercent;
    private final PrintStream out;

    EngineBench(List<Integer> sizes, List<Integer> workingSets, int runs, int fillPercent, PrintStream out) {
        this.sizes = sizes;
        this.workingSets = workingSets;
        this.runs = runs;
        this.fillPercent = fillPercent;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        List<Integer> sizes = List.of(256, 1024, 4096);
        List<Integer> wws = List.of(0, 16, 64);
        int runs = 3;
        int fill = 50;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            try {
                switch (a) {
                    case "--engine" -> { }
                    case "--json" -> json = Path.of(args[++i]);
                    case "--sizes" -> sizes = ints(args[++i]);
                    case "--wws" -> wws = ints(args[++i]);
                    case "--runs" -> runs = Integer.parseInt(args[++i]);
                    case "--fill" -> fill = Integer.parseInt(args[++i]);
                    case "--help", "-h" -> {
                        usage(out);
                        return 0;
                    }
                    default -> {
                        err.println("sealift bench: unknown option '" + a + "'; run 'sealift bench --help'");
                        return 2;
                    }
                }
            } catch (ArrayIndexOutOfBoundsException | NumberFormatException e) {
                err.println("sealift bench: option " + a + " needs a value (numbers, comma-separated for lists)");
                return 2;
            }
        }
        if (runs < 1 || fill < 0 || fill > 100) {
            err.println("sealift bench: --runs must be 1 or more and --fill 0..100");
            return 2;
        }
        Path root = Files.createTempDirectory("sealift-bench");
        try {
            List<Row> rows = new EngineBench(sizes, wws, runs, fill, out).measure(root);
            printTable(rows, out);
            if (json != null) {
                Files.writeString(json, toJson(rows), StandardCharsets.UTF_8);
                out.println("JSON written to " + json);
            }
            return 0;
        } finally {
            SimCluster.deleteTree(root);
        }
    }

    private static List<Integer> ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).map(Integer::parseInt).toList();
    }

    private static void usage(PrintStream out) {
        out.println("usage: sealift bench --engine [--json FILE] [--sizes 256,1024,4096] [--wws 0,16,64] [--runs 3]"
                + " [--fill 50]");
        out.println("  migrates VMs between two simulated hosts on this machine over loopback, secure and plain,");
        out.println("  and prints medians: total time, downtime, rounds, bytes, throughput, secure/plain ratios.");
        out.println("  --fill is the share of guest pages with non-zero contents (the rest travel as zero markers).");
    }

    List<Row> measure(Path root) throws Exception {
        List<Row> rows = new ArrayList<>();
        long maxMem = sizes.stream().mapToLong(Integer::longValue).max().orElse(0);
        // the hypervisors hold only metadata on their heaps; guest memory is a shared file
        // the source hypervisor keeps the latest sealing of every protected page (a quarter of memory) on its heap
        List<String> jvm = List.of("-Xmx" + (256 + maxMem * 3 / 8) + "m", "-XX:MaxDirectMemorySize=32g",
                "-XX:+UseSerialGC");
        int vm = 0;
        for (int mem : sizes) {
            for (int wws : workingSets) {
                if (wws * 2 > mem) {
                    continue; // a working set over half the VM is not a pre-copy case
                }
                for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
                    List<double[]> samples = new ArrayList<>();
                    for (int r = 0; r < runs; r++) {
                        // fresh hosts for every run: nothing one migration left in a hypervisor (its sealing cache,
                        // its heap) weighs on the next
                        Path runRoot = Files.createTempDirectory(root, "run");
                        try (SimCluster cluster = SimCluster.start(runRoot, false, jvm, "bench-src", "bench-dst")) {
                            SimBackend src = cluster.host("bench-src");
                            SimBackend dst = cluster.host("bench-dst");
                            DomainConfig c = vm(mem, wws, mode, "bench-" + (++vm), fillPercent);
                            int dom = src.createDomain(c).domId();
                            src.resume(dom);
                            long[] cpu0 = cpu(cluster);
                            MigrationSummary s = once(src, dom, dst, c);
                            long[] cpu1 = cpu(cluster);
                            samples.add(new double[] {s.totalNanos() / 1e6, s.downtimeNanos() / 1e6,
                                    s.rounds().size(), s.bytes()});
                            out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB run %d: %8.1f ms total, %6.2f ms"
                                    + " downtime, %d rounds, %d bytes; CPU ms agent %d, source hypervisor %d,"
                                    + " destination hypervisor %d%n", mode, mem, wws, r + 1, s.totalNanos() / 1e6,
                                    s.downtimeNanos() / 1e6, s.rounds().size(), s.bytes(), cpu1[0] - cpu0[0],
                                    cpu1[1] - cpu0[1], cpu1[2] - cpu0[2]);
                        } finally {
                            SimCluster.deleteTree(runRoot);
                        }
                    }
                    rows.add(new Row(mem, wws, mode, median(samples, 0), median(samples, 1),
                            (int) median(samples, 2), (long) median(samples, 3), samples));
                }
            }
        }
        return rows;
    }

    /**
     * CPU milliseconds used so far by this JVM (both agents) and the two hypervisor processes: on a shared machine
     * wall time depends on the neighbours, CPU time shows where the work goes.
     */
    private static long[] cpu(SimCluster cluster) {
        return new long[] {cpuMillis(ProcessHandle.current().pid()), cpuMillis(cluster.pid("bench-src")),
                cpuMillis(cluster.pid("bench-dst"))};
    }

    static long cpuMillis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime + stime
            if (Boolean.getBoolean("sealift.bench.cpuSplit")) {
                System.out.println("    pid " + pid + " user " + f[11] + "0 ms, system " + f[12] + "0 ms");
            }
            return ticks * 10; // USER_HZ is 100 on Linux
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The benchmark VM (also the lab benchmark's): in secure mode a quarter of memory and of the working set is
     * protected.
     */
    static DomainConfig vm(int memMiB, int wwsMiB, MigrationMode mode, String name, int fillPercent) {
        long pages = memMiB * 256L;
        boolean secure = mode == MigrationMode.SECURE;
        List<ProtectedProcessSpec> procs = secure
                ? List.of(ProtectedProcessSpec.of("vault", pages - pages / 4, pages / 4)) : List.of();
        WorkloadSpec w = WorkloadSpec.idle(fillPercent).withSeed(memMiB * 131L + wwsMiB);
        if (wwsMiB > 0) {
            long wwsPages = wwsMiB * 256L;
            // each working-set page is rewritten about twice a second
            long normal = secure ? wwsPages - wwsPages / 4 : wwsPages;
            w = new WorkloadSpec(w.fillPercent(), normal, normal * 2, secure ? wwsPages / 4 : 0,
                    secure ? wwsPages / 2 : 0, w.seed(), w.secretMarkerSeed());
        }
        return new DomainConfig(name, memMiB, 2, procs, w);
    }

    private static MigrationSummary once(SimBackend src, int dom, SimBackend dst, DomainConfig c) throws Exception {
        Transport[] pair = ChannelTransport.loopbackPair();
        MigrationMode mode = c.hasProtectedProcesses() ? MigrationMode.SECURE : MigrationMode.PLAIN;
        DestinationMigration d = new DestinationMigration(dst, c, Optional.empty(), pair[1], mode,
                EngineConfig.DEFAULTS, List.of());
        CompletableFuture<MigrationResult> dr = CompletableFuture.supplyAsync(d::run);
        MigrationResult s = new SourceMigration(src, dom, Optional.empty(), pair[0], MigrationOptions.defaults(mode),
                EngineConfig.DEFAULTS, List.of()).run();
        MigrationResult r = dr.get(10, TimeUnit.MINUTES);
        if (s.summary().outcome() != MigrationOutcome.COMMITTED || r.summary().outcome() != MigrationOutcome.COMMITTED) {
            throw new IllegalStateException("benchmark migration of " + c.name() + " did not commit: source "
                    + s.summary().reason() + ", destination " + r.summary().reason());
        }
        dst.destroyDomain(d.domId());
        return s.summary();
    }

    static double median(List<double[]> samples, int field) {
        double[] v = samples.stream().mapToDouble(s -> s[field]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static void printTable(List<Row> rows, PrintStream out) {
        out.println();
        out.printf(Locale.ROOT, "%-7s %6s %6s %10s %10s %6s %14s %9s %10s %12s%n", "mode", "memMiB", "wwsMiB",
                "totalMs", "downtimeMs", "rounds", "bytes", "GB/s", "time s/p", "downtime +ms");
        for (Row r : rows) {
            Row plain = rows.stream().filter(p -> p.mode() == MigrationMode.PLAIN && p.memMiB() == r.memMiB()
                    && p.wwsMiB() == r.wwsMiB()).findFirst().orElse(null);
            String ratio = "";
            String delta = "";
            if (r.mode() == MigrationMode.SECURE && plain != null) {
                ratio = String.format(Locale.ROOT, "%.3f", r.totalMs() / plain.totalMs());
                delta = String.format(Locale.ROOT, "%+.2f", r.downtimeMs() - plain.downtimeMs());
            }
            out.printf(Locale.ROOT, "%-7s %6d %6d %10.1f %10.2f %6d %14d %9.2f %10s %12s%n", r.mode(), r.memMiB(),
                    r.wwsMiB(), r.totalMs(), r.downtimeMs(), r.rounds(), r.bytes(), r.throughputGBps(), ratio, delta);
        }
        out.println("(medians; GB/s = guest bytes migrated per second of total time; Java "
                + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs)");
    }

    static String toJson(List<Row> rows) {
        StringBuilder b = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(String.format(Locale.ROOT, "  {\"memMiB\": %d, \"wwsMiB\": %d, \"mode\": \"%s\", \"totalMs\": %.3f,"
                    + " \"downtimeMs\": %.3f, \"rounds\": %d, \"bytes\": %d, \"throughputGBps\": %.4f, \"runs\": [",
                    r.memMiB(), r.wwsMiB(), r.mode(), r.totalMs(), r.downtimeMs(), r.rounds(), r.bytes(),
                    r.throughputGBps()));
            for (int k = 0; k < r.runs().size(); k++) {
                double[] s = r.runs().get(k);
                b.append(String.format(Locale.ROOT, "%s{\"totalMs\": %.3f, \"downtimeMs\": %.3f, \"rounds\": %d,"
                        + " \"bytes\": %d}", k == 0 ? "" : ", ", s[0], s[1], (int) s[2], (long) s[3]));
            }
            b.append("]}").append(i + 1 < rows.size() ? ",\n" : "\n");
        }
        return b.append("]\n").toString();
    }
}
