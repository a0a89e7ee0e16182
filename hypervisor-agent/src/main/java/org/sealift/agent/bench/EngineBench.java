package org.sealift.agent.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * same VM without them; 3 runs each, plain and secure alternating on one warm pair of hosts per VM size; a table of
 * medians and the secure/plain ratios.
 */
public final class EngineBench {

    static final String COMMITTED = "COMMITTED";
    static final String ABORTED = "ABORTED";

    /**
     * One measured configuration: medians over its committed runs. A configuration whose runs all ended without a
     * commit is kept as ABORTED with the first reason (NaN medians), so one failing size does not lose the others.
     *
     * @param runs     per committed run {totalMs, downtimeMs, rounds, bytes}
     * @param outcome  COMMITTED if at least one run committed, else how the runs ended (ABORTED)
     * @param failures the reasons of runs that did not commit, in run order
     */
    record Row(int memMiB, int wwsMiB, MigrationMode mode, double totalMs, double downtimeMs, int rounds, long bytes,
            List<double[]> runs, String outcome, List<String> failures) {

        Row(int memMiB, int wwsMiB, MigrationMode mode, double totalMs, double downtimeMs, int rounds, long bytes,
                List<double[]> runs) {
            this(memMiB, wwsMiB, mode, totalMs, downtimeMs, rounds, bytes, runs, COMMITTED, List.of());
        }

        boolean committed() {
            return COMMITTED.equals(outcome);
        }

        /** Guest bytes migrated per second of total time. */
        double throughputGBps() {
            return memMiB * 1048576.0 / (totalMs / 1000.0) / 1e9;
        }
    }

    private final List<Integer> sizes;
    private final List<Integer> workingSets;
    private final int runs;
    private final int fillPercent;
    int warmupMiB = 256;
    /** How the engine runs on both ends (a test shortens a deadline to see a run that does not commit). */
    EngineConfig engine = EngineConfig.DEFAULTS;
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
        int warmup = 256;
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
                    case "--warmup" -> warmup = Integer.parseInt(args[++i]);
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
        if (runs < 1 || fill < 0 || fill > 100 || warmup < 0) {
            err.println("sealift bench: --runs must be 1 or more, --fill 0..100 and --warmup 0 or more");
            return 2;
        }
        Path root = Files.createTempDirectory("sealift-bench");
        try {
            EngineBench bench = new EngineBench(sizes, wws, runs, fill, out);
            bench.warmupMiB = warmup;
            List<Row> rows = bench.measure(root);
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
                + " [--fill 50] [--warmup 256]");
        out.println("  migrates VMs between two simulated hosts on this machine over loopback, secure and plain,");
        out.println("  and prints medians: total time, downtime, rounds, bytes, throughput, secure/plain ratios.");
        out.println("  --fill is the share of the secure VM's normal pages with non-zero contents (the rest travel as zero");
        out.println("  markers; protected pages all hold data); the plain VM has as much data: fill*3/4 + 25 percent.");
        out.println("  Each VM size gets one pair of hosts; its plain and secure runs alternate on them.");
        out.println("  --warmup MiB: before the measured runs the hosts migrate an idle VM of this size twice in each mode,");
        out.println("  unmeasured, so the simulated hypervisors' JIT-compiled code is warm, as on hosts that have");
        out.println("  migrated before (a real hypervisor is compiled code); 0 measures cold hosts.");
    }

    List<Row> measure(Path root) throws Exception {
        List<Row> rows = new ArrayList<>();
        long maxMem = sizes.stream().mapToLong(Integer::longValue).max().orElse(0);
        // the hypervisors hold only metadata on their heaps (about 50 bytes per protected page): guest memory and the
        // sealed-page slots are shared files, protected plaintext is off the heap
        List<String> jvm = List.of("-Xmx" + (256 + maxMem / 16) + "m", "-XX:MaxDirectMemorySize=32g",
                "-XX:+UseSerialGC");
        for (int mem : sizes) {
            List<Integer> fitting = workingSets.stream().filter(w -> w * 2 <= mem).toList(); // else not pre-copy
            if (fitting.isEmpty()) {
                continue;
            }
            Map<String, List<double[]>> samples = new HashMap<>();
            Map<String, List<String>> failures = new HashMap<>();
            Hosts hosts = null;
            try {
                // one pair of hosts per VM size, as on hosts that migrate VMs one after another: their hypervisors'
                // code is warm (a real hypervisor is compiled code), and plain and secure runs alternate on the same
                // hosts so that both see the same neighbours on a shared machine
                for (int r = 0; r < runs; r++) {
                    for (int wws : fitting) {
                        for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
                            String key = wws + "/" + mode;
                            samples.computeIfAbsent(key, k -> new ArrayList<>());
                            failures.computeIfAbsent(key, k -> new ArrayList<>());
                            try {
                                if (hosts == null) {
                                    hosts = startHosts(root, jvm);
                                }
                                Outcome o = measuredRun(hosts, mem, wws, mode, r);
                                if (o.failure() == null) {
                                    MigrationSummary s = o.source();
                                    samples.get(key).add(new double[] {s.totalNanos() / 1e6, s.downtimeNanos() / 1e6,
                                            s.rounds().size(), s.bytes()});
                                } else {
                                    failures.get(key).add(o.failure());
                                    // whatever the failed run left behind (a VM resumed at the source, an aborted
                                    // copy) must not weigh on the next run: fresh hosts
                                    hosts.close();
                                    hosts = null;
                                }
                            } catch (Exception e) {
                                // a host that did not start or a run that broke: record it and go on with the others
                                String why = e.getClass().getSimpleName() + ": " + e.getMessage();
                                failures.get(key).add(why);
                                out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB run %d: FAILED (%s)%n", mode, mem,
                                        wws, r + 1, why);
                                if (hosts != null) {
                                    hosts.close();
                                    hosts = null;
                                }
                            }
                        }
                    }
                }
            } finally {
                if (hosts != null) {
                    hosts.close();
                }
            }
            for (int wws : fitting) {
                for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
                    String key = wws + "/" + mode;
                    List<double[]> s = samples.get(key);
                    List<String> f = failures.get(key);
                    if (s.isEmpty()) {
                        rows.add(new Row(mem, wws, mode, Double.NaN, Double.NaN, 0, 0, s, ABORTED, f));
                    } else {
                        rows.add(new Row(mem, wws, mode, median(s, 0), median(s, 1), (int) median(s, 2),
                                (long) median(s, 3), s, COMMITTED, f));
                    }
                }
            }
        }
        return rows;
    }

    /** The two hosts of the measured runs of one VM size, in their own folder, deleted with them. */
    private final class Hosts implements AutoCloseable {
        final Path dir;
        final SimCluster cluster;
        final SimBackend src;
        final SimBackend dst;

        Hosts(Path dir, SimCluster cluster) {
            this.dir = dir;
            this.cluster = cluster;
            this.src = cluster.host("bench-src");
            this.dst = cluster.host("bench-dst");
        }

        @Override
        public void close() {
            cluster.close();
            SimCluster.deleteTree(dir);
        }
    }

    private int vmCounter;

    /**
     * Boots the source and destination hosts and, unless the warm-up is 0, migrates an idle VM of the warm-up size
     * between them twice in each mode, unmeasured, so that the simulated hypervisors run compiled code.
     */
    private Hosts startHosts(Path root, List<String> jvm) throws Exception {
        Path dir = Files.createTempDirectory(root, "hosts");
        SimCluster cluster;
        try {
            cluster = SimCluster.start(dir, false, jvm, "bench-src", "bench-dst");
        } catch (Exception e) {
            SimCluster.deleteTree(dir);
            throw e;
        }
        Hosts h = new Hosts(dir, cluster);
        try {
            if (warmupMiB > 0) {
                for (int i = 0; i < 2; i++) {
                    for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
                        warmUp(h.src, h.dst, mode, "warmup-" + (++vmCounter));
                    }
                }
            }
        } catch (Exception | Error e) {
            h.close();
            throw e;
        }
        return h;
    }

    private Outcome measuredRun(Hosts h, int mem, int wws, MigrationMode mode, int r) throws Exception {
        DomainConfig c = vm(mem, wws, mode, "bench-" + (++vmCounter), fillPercent);
        int dom = h.src.createDomain(c).domId();
        h.src.resume(dom);
        settle(h.cluster);
        long[] cpu0 = cpu(h.cluster);
        Outcome o = once(h.src, dom, h.dst, c);
        long[] cpu1 = cpu(h.cluster);
        MigrationSummary s = o.source();
        out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB run %d: %s%8.1f ms total, %6.2f ms downtime, %d rounds,"
                + " %d bytes; CPU ms agent %d, source hypervisor %d, destination hypervisor %d%n", mode, mem, wws,
                r + 1, o.failure() == null ? "" : "NOT COMMITTED (" + o.failure() + "): ", s.totalNanos() / 1e6,
                s.downtimeNanos() / 1e6, s.rounds().size(), s.bytes(), cpu1[0] - cpu0[0], cpu1[1] - cpu0[1],
                cpu1[2] - cpu0[2]);
        return o;
    }

    /**
     * Waits until both hypervisors are idle but for the new VM's workload: what the previous run left to do in the
     * background (freeing a destroyed domain's memory, wiping protected pages, re-encrypting the guest's view of
     * protected memory after a resume) must not be counted in, or slow down, the next run, which is of the other mode.
     * Idle = the destination used no CPU over 100 ms (the source runs the VM's workload), at most 10 s.
     */
    private static void settle(SimCluster cluster) throws InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        long last = cpuMillis(cluster.pid("bench-dst"));
        while (System.nanoTime() < until) {
            Thread.sleep(100);
            long now = cpuMillis(cluster.pid("bench-dst"));
            if (now == last) {
                return;
            }
            last = now;
        }
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
     * protected. A protected process's pages all hold data (they never travel as zero markers), so the plain VM, the
     * same VM without protection, holds as much data: {@code fillPercent} of its other three quarters plus all of
     * that quarter, i.e. a fill of {@link #plainFill}; both modes then move the same guest data and differ only in
     * how it is protected.
     */
    static DomainConfig vm(int memMiB, int wwsMiB, MigrationMode mode, String name, int fillPercent) {
        long pages = memMiB * 256L;
        boolean secure = mode == MigrationMode.SECURE;
        List<ProtectedProcessSpec> procs = secure
                ? List.of(ProtectedProcessSpec.of("vault", pages - pages / 4, pages / 4)) : List.of();
        WorkloadSpec w = WorkloadSpec.idle(secure ? fillPercent : plainFill(fillPercent))
                .withSeed(memMiB * 131L + wwsMiB);
        if (wwsMiB > 0) {
            long wwsPages = wwsMiB * 256L;
            // each working-set page is rewritten about twice a second
            long normal = secure ? wwsPages - wwsPages / 4 : wwsPages;
            w = new WorkloadSpec(w.fillPercent(), normal, normal * 2, secure ? wwsPages / 4 : 0,
                    secure ? wwsPages / 2 : 0, w.seed(), w.secretMarkerSeed());
        }
        return new DomainConfig(name, memMiB, 2, procs, w);
    }

    /** The fill of the plain VM: as many data pages as the secure VM's {@code fillPercent} of its normal pages. */
    static int plainFill(int fillPercent) {
        return Math.min(100, Math.round(fillPercent * 0.75f + 25f));
    }

    /** An unmeasured migration of an idle VM between the run's hosts; a failure here shows in the measured run. */
    private void warmUp(SimBackend src, SimBackend dst, MigrationMode mode, String name) throws Exception {
        DomainConfig w = vm(warmupMiB, 0, mode, name, fillPercent);
        int dom = src.createDomain(w).domId();
        src.resume(dom);
        Outcome o = once(src, dom, dst, w);
        if (o.failure() != null) {
            out.println("  (warm-up migration did not commit: " + o.failure() + ")");
        }
    }

    /** How one run ended: the source's summary, and why it did not commit (null if it did). */
    record Outcome(MigrationSummary source, String failure) {
    }

    private Outcome once(SimBackend src, int dom, SimBackend dst, DomainConfig c) throws Exception {
        Transport[] pair = ChannelTransport.loopbackPair();
        MigrationMode mode = c.hasProtectedProcesses() ? MigrationMode.SECURE : MigrationMode.PLAIN;
        DestinationMigration d = new DestinationMigration(dst, c, Optional.empty(), pair[1], mode, engine,
                List.of());
        CompletableFuture<MigrationResult> dr = CompletableFuture.supplyAsync(d::run);
        MigrationResult s = new SourceMigration(src, dom, Optional.empty(), pair[0], MigrationOptions.defaults(mode),
                engine, List.of()).run();
        MigrationResult r = dr.get(10, TimeUnit.MINUTES);
        if (s.summary().outcome() != MigrationOutcome.COMMITTED || r.summary().outcome() != MigrationOutcome.COMMITTED) {
            return new Outcome(s.summary(), "source " + s.summary().outcome() + ": " + s.summary().reason()
                    + "; destination " + r.summary().outcome() + ": " + r.summary().reason());
        }
        dst.destroyDomain(d.domId());
        return new Outcome(s.summary(), null);
    }

    static double median(List<double[]> samples, int field) {
        double[] v = samples.stream().mapToDouble(s -> s[field]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static void printTable(List<Row> rows, PrintStream out) {
        out.println();
        out.printf(Locale.ROOT, "%-7s %6s %6s %10s %10s %6s %14s %9s %10s %12s%n", "mode", "memMiB", "wwsMiB",
                "totalMs", "downtimeMs", "rounds", "bytes", "GB/s", "time s/p", "downtime +ms");
        List<String> notes = new ArrayList<>();
        for (Row r : rows) {
            if (!r.committed()) {
                out.printf(Locale.ROOT, "%-7s %6d %6d %10s %10s %6s %14s %9s %10s %12s%n", r.mode(), r.memMiB(),
                        r.wwsMiB(), r.outcome(), "-", "-", "-", "-", "", "");
            } else {
                Row plain = rows.stream().filter(p -> p.mode() == MigrationMode.PLAIN && p.memMiB() == r.memMiB()
                        && p.wwsMiB() == r.wwsMiB() && p.committed()).findFirst().orElse(null);
                String ratio = "";
                String delta = "";
                if (r.mode() == MigrationMode.SECURE && plain != null) {
                    ratio = String.format(Locale.ROOT, "%.3f", r.totalMs() / plain.totalMs());
                    delta = String.format(Locale.ROOT, "%+.2f", r.downtimeMs() - plain.downtimeMs());
                }
                out.printf(Locale.ROOT, "%-7s %6d %6d %10.1f %10.2f %6d %14d %9.2f %10s %12s%n", r.mode(),
                        r.memMiB(), r.wwsMiB(), r.totalMs(), r.downtimeMs(), r.rounds(), r.bytes(),
                        r.throughputGBps(), ratio, delta);
            }
            for (String f : r.failures()) {
                notes.add(r.mode() + " " + r.memMiB() + " MiB wws " + r.wwsMiB() + " MiB: a run did not commit: " + f);
            }
        }
        out.println("(medians of committed runs; GB/s = guest bytes migrated per second of total time; Java "
                + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs)");
        for (String n : notes) {
            out.println("  " + n);
        }
    }

    static String toJson(List<Row> rows) {
        StringBuilder b = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(String.format(Locale.ROOT, "  {\"memMiB\": %d, \"wwsMiB\": %d, \"mode\": \"%s\","
                    + " \"outcome\": \"%s\", \"totalMs\": %s, \"downtimeMs\": %s, \"rounds\": %d, \"bytes\": %d, \"throughputGBps\": %s,"
                    + " \"runs\": [", r.memMiB(), r.wwsMiB(), r.mode(), r.outcome(), number(r.totalMs(), 3),
                    number(r.downtimeMs(), 3), r.rounds(), r.bytes(), number(r.throughputGBps(), 4)));
            for (int k = 0; k < r.runs().size(); k++) {
                double[] s = r.runs().get(k);
                b.append(String.format(Locale.ROOT, "%s{\"totalMs\": %.3f, \"downtimeMs\": %.3f, \"rounds\": %d,"
                        + " \"bytes\": %d}", k == 0 ? "" : ", ", s[0], s[1], (int) s[2], (long) s[3]));
            }
            b.append("], \"failures\": [");
            for (int k = 0; k < r.failures().size(); k++) {
                b.append(k == 0 ? "" : ", ").append(jsonString(r.failures().get(k)));
            }
            b.append("]}").append(i + 1 < rows.size() ? ",\n" : "\n");
        }
        return b.append("]\n").toString();
    }

    /** A JSON number, or null where nothing was measured (no run committed). */
    private static String number(double v, int decimals) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        b.append(ch);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
