package org.sealift.agent.bench;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLContext;

import org.sealift.agent.api.Json;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.daemon.VmSpec;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.OutboundStream;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.lab.Lab;
import org.sealift.agent.lab.LabInfo;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.tls.AgentChannelClient;
import org.sealift.agent.tls.AgentChannelServer;
import org.sealift.agent.tls.ChannelConnection;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.model.MigrationMode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The lab benchmark ({@code ./sealift bench [--json FILE]}): two lab hosts as real processes (simulated hypervisor
 * and agent each, lab CA, loopback), migrations started through the management API and carried by the agents' TLS
 * 1.3 channel; the engine benchmark's matrix and VMs (secure with a quarter of memory and of the working set
 * protected, plain on the same VM without protected processes), medians and secure/plain ratios in the engine
 * benchmark's table, and the raw loopback TLS throughput of this machine with the agents' own TLS setup as the
 * ceiling. A run that does not commit is recorded with its outcome and reason, and the benchmark goes on.
 */
public final class LabBench {

    static final String SOURCE = "h1";
    static final String DESTINATION = "h2";
    /** No production deadline lets a migration run this long; past it the agent is assumed stuck. */
    private static final Duration OUTCOME_WAIT = Duration.ofMinutes(30);

    /** What the command line asked for. */
    record Settings(List<Integer> sizes, List<Integer> workingSets, int runs, int fillPercent, Path json,
            int ceilingMiB, boolean useRunningLab, boolean warmUp, long protectedMiBPerLab) {

        static Settings defaults() {
            return new Settings(List.of(256, 1024, 4096), List.of(0, 16, 64), 3, 50, null, 512, false, true,
                    PROTECTED_MIB_PER_LAB);
        }
    }

    /** A command line that cannot be run; the message says what to change. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /**
     * One migration as the source agent reported it when it ended (totals are the engine's: total time, the VM's
     * downtime, rounds, bytes on the stream), or a request the agents refused (outcome {@code REFUSED}).
     */
    record RunResult(int memMiB, int wwsMiB, MigrationMode mode, int run, String outcome, String reason,
            double totalMs, double downtimeMs, int rounds, long bytes, Cpu cpu, Map<String, Double> downtimeSteps) {

        RunResult {
            downtimeSteps = downtimeSteps == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(downtimeSteps));
        }

        RunResult(int memMiB, int wwsMiB, MigrationMode mode, int run, String outcome, String reason, double totalMs,
                double downtimeMs, int rounds, long bytes, Cpu cpu) {
            this(memMiB, wwsMiB, mode, run, outcome, reason, totalMs, downtimeMs, rounds, bytes, cpu, Map.of());
        }

        boolean committed() {
            return EngineBench.COMMITTED.equals(outcome);
        }

        double[] sample() {
            return new double[] {totalMs, downtimeMs, rounds, bytes};
        }

        boolean sameConfiguration(RunResult o) {
            return memMiB == o.memMiB && wwsMiB == o.wwsMiB && mode == o.mode;
        }
    }

    /**
     * CPU milliseconds the four processes of a migration used while it ran (-1 where unknown): on a shared machine
     * wall time depends on the neighbours, CPU time shows where the work goes.
     */
    record Cpu(long sourceAgent, long destinationAgent, long sourceHypervisor, long destinationHypervisor) {

        static final Cpu UNKNOWN = new Cpu(-1, -1, -1, -1);

        static Cpu between(long[] before, long[] after) {
            long[] d = new long[4];
            for (int i = 0; i < 4; i++) {
                d[i] = before[i] < 0 || after[i] < 0 ? -1 : after[i] - before[i];
            }
            return new Cpu(d[0], d[1], d[2], d[3]);
        }

        boolean known() {
            return sourceAgent >= 0 && destinationAgent >= 0 && sourceHypervisor >= 0 && destinationHypervisor >= 0;
        }

        double[] sample() {
            return new double[] {sourceAgent, destinationAgent, sourceHypervisor, destinationHypervisor};
        }
    }

    /**
     * The loopback TLS ceiling: MB/s (10^6 bytes) of wall time with 1 MiB writes and as the engine's transport
     * writes, and the same in MB per CPU-second of both ends together (which the neighbours cannot skew).
     */
    record Ceiling(double rawMBps, double transportMBps, double rawMBperCpuSecond, double transportMBperCpuSecond,
            int mib, int repetitions) {

        /** Milliseconds {@code bytes} need at the raw ceiling. */
        double millisFor(long bytes) {
            return bytes / (rawMBps * 1e6) * 1000.0;
        }
    }

    /**
     * A lab of this benchmark carries at most this much protected memory before it is replaced by a fresh one. The
     * simulated hypervisors once kept every finished migration's per-page tables on their 4 GiB heaps (a source
     * hypervisor of the engine benchmark died of it after several 1 GiB runs); they now keep the last
     * {@code Migrations.KEEP_FINISHED_SESSIONS}, so this is a bound on a run's length, not a work-around.
     */
    static final long PROTECTED_MIB_PER_LAB = 8192;

    private final Settings settings;
    private final Path root;
    private final PrintStream out;
    private final PrintStream err;
    private int vmSerial;
    private int labs;
    /** The lab this benchmark started (null when it uses a running one); the shutdown hook closes it. */
    private volatile Lab lab;
    private LabInfo info;
    private Agent src;
    private Agent dst;
    private long protectedMiB;
    /** Source agent, destination agent, source hypervisor, destination hypervisor. */
    private long[] pids = {-1, -1, -1, -1};

    private LabBench(Settings settings, Path root, PrintStream out, PrintStream err) {
        this.settings = settings;
        this.root = root;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) throws Exception {
        // the ceiling's channel server logs every connection at INFO; the agents keep their own logs in the lab
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Settings s;
        try {
            s = parse(args);
        } catch (UsageException e) {
            err.println("sealift bench: " + e.getMessage());
            return 2;
        }
        if (s == null) {
            usage(out);
            return 0;
        }
        Path root = Files.createTempDirectory("sealift-lab-bench");
        LabBench bench = new LabBench(s, root, out, err);
        // the hypervisors run in their own sessions (setsid): Ctrl-C reaches only this JVM, which must stop them
        // (and remove the lab folder with its keys, as the finally block below would have)
        Thread stopLab = new Thread(() -> {
            bench.closeLab();
            SimCluster.deleteTree(root);
        }, "lab-bench-stop");
        Runtime.getRuntime().addShutdownHook(stopLab);
        try {
            if (s.useRunningLab()) {
                if (!bench.attach(LabInfo.defaultDir())) {
                    return 1;
                }
            } else {
                bench.startLab();
            }
            // measured before and after the migrations: on a shared machine the neighbours' load changes, and the
            // better of the two is the closer estimate of what this machine's loopback TLS can carry
            Ceiling before = measureCeiling(Path.of(bench.info.dir()), s.ceilingMiB(), 3);
            printCeiling("before the migrations", before, out);
            List<RunResult> results = bench.measure();
            Ceiling after = measureCeiling(Path.of(bench.info.dir()), s.ceilingMiB(), 3);
            printCeiling("after the migrations", after, out);
            Ceiling ceiling = before.rawMBps() >= after.rawMBps() ? before : after;
            List<EngineBench.Row> rows = rows(results);
            EngineBench.printTable(rows, out);
            out.println("(between lab hosts " + SOURCE + " -> " + DESTINATION + ": agent processes over the"
                    + " management API and their TLS 1.3 channel on loopback)");
            printCpu(rows, results, out);
            printDowntimeSteps(rows, results, out);
            printCeilingAndTargets(rows, ceiling, out);
            if (s.json() != null) {
                Files.writeString(s.json(), toJson(rows, results, ceiling), StandardCharsets.UTF_8);
                out.println("JSON written to " + s.json());
            }
            return 0;
        } catch (Lab.LabException e) {
            // the first lab, or a fresh one between runs, could not start: the message says why
            err.println("sealift bench: " + e.getMessage());
            return 1;
        } finally {
            bench.closeLab();
            try {
                Runtime.getRuntime().removeShutdownHook(stopLab);
            } catch (IllegalStateException e) {
                // already shutting down: the hook closes the lab (again, harmlessly)
            }
            SimCluster.deleteTree(root);
        }
    }

    /** A fresh lab of this benchmark: hosts h1-h3 without demo VMs or rogue host, production agent settings. */
    private void startLab() throws Exception {
        closeLab();
        // production agent settings (no lab shortcuts): the deadlines are the ones a real cluster has
        lab = Lab.start(root.resolve("lab-" + (++labs)), new Lab.Options(false, false, Map.of()), err);
        connect(lab.info());
        warmUp();
    }

    /** Uses hosts h1 and h2 of the lab running in {@code dir}; false (with the reason printed) if there is none. */
    private boolean attach(Path dir) throws Exception {
        Optional<LabInfo> running = LabInfo.read(dir);
        if (running.isEmpty()) {
            err.println("sealift bench: --lab: no lab runs in " + dir + "; start one with './sealift lab"
                    + " --no-console' or leave out --lab to let the benchmark start its own");
            return false;
        }
        connect(running.get());
        try {
            src.api().get("/v1/host");
        } catch (AgentClient.ApiError | AgentClient.Unreachable e) {
            err.println("sealift bench: --lab: the lab in " + dir + " does not answer (" + e.getMessage()
                    + "); start it again with './sealift lab --no-console'");
            return false;
        }
        err.println("sealift bench: using the running lab in " + dir + " (its demo VMs keep running and share the"
                + " CPU with the benchmark; it is not replaced when its hypervisors' heaps fill)");
        warmUp();
        return true;
    }

    private void connect(LabInfo lab) throws Exception {
        TlsCredentials op = operator(lab);
        info = lab;
        src = Agent.of(lab, SOURCE, op);
        dst = Agent.of(lab, DESTINATION, op);
        LabInfo.Agent s = lab.agent(SOURCE).orElseThrow();
        LabInfo.Agent d = lab.agent(DESTINATION).orElseThrow();
        pids = new long[] {s.pid(), d.pid(), s.hypervisorPid(), d.hypervisorPid()};
        protectedMiB = 0;
    }

    /** Unrecorded warm-up migrations per mode, alternating, after each lab start (then one per VM size). */
    static final int WARM_UP_PAIRS = 3;

    /**
     * Unrecorded migrations each way: the agents' and hypervisors' JITs are cold in a fresh lab. One pair was not
     * enough: the first measured 1 GiB runs still paid for compilation (a secure run 2.1 s where later ones took
     * 1.2 s), so the medians of three mixed cold and warm hosts; a daemon that runs for months is warm.
     */
    private void warmUp() {
        if (!settings.warmUp()) {
            return;
        }
        int mem = Math.min(256, settings.sizes().stream().mapToInt(Integer::intValue).min().orElse(64));
        for (int i = 1; i <= WARM_UP_PAIRS; i++) {
            warmUpPair(mem);
        }
    }

    /**
     * One unrecorded pair at a VM size before its first measured run: a host keeps memory of the size it last
     * migrated (a source's slot file, a destination's scrubbed plaintext pool), as a host that keeps receiving
     * similar VMs has, so the first measured run of a new size would otherwise pay for allocating it.
     */
    private void warmUpPair(int mem) {
        for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
            RunResult w = once(mem, 0, mode, 0);
            out.printf(Locale.ROOT, "  warm-up %-6s %5d MiB: %s%n", mode, mem, describe(w));
        }
    }

    private void closeLab() {
        Lab l = lab;
        lab = null;
        if (l != null) {
            l.close();
        }
    }

    /** The settings, or null for {@code --help}. */
    static Settings parse(String[] args) throws UsageException {
        Settings d = Settings.defaults();
        List<Integer> sizes = d.sizes();
        List<Integer> wws = d.workingSets();
        int runs = d.runs();
        int fill = d.fillPercent();
        Path json = d.json();
        int ceiling = d.ceilingMiB();
        boolean lab = false;
        boolean warmUp = true;
        long perLab = d.protectedMiBPerLab();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--json" -> json = Path.of(value(args, ++i, a));
                case "--sizes" -> sizes = ints(a, value(args, ++i, a), 1);
                case "--wws" -> wws = ints(a, value(args, ++i, a), 0);
                case "--runs" -> runs = one(a, value(args, ++i, a), 1);
                case "--fill" -> fill = one(a, value(args, ++i, a), 0);
                case "--ceiling-mib" -> ceiling = one(a, value(args, ++i, a), 1);
                case "--lab" -> lab = true;
                case "--no-warmup" -> warmUp = false;
                case "--protected-mib-per-lab" -> perLab = one(a, value(args, ++i, a), 1);
                case "--help", "-h" -> {
                    return null;
                }
                default -> throw new UsageException("unknown option '" + a + "'; run 'sealift bench --help'");
            }
        }
        if (fill > 100) {
            throw new UsageException("--fill is a percentage (0..100), not " + fill);
        }
        return new Settings(sizes, wws, runs, fill, json, ceiling, lab, warmUp, perLab);
    }

    private static String value(String[] args, int i, String option) throws UsageException {
        if (i >= args.length) {
            throw new UsageException("option " + option + " needs a value");
        }
        return args[i];
    }

    private static int one(String option, String value, int min) throws UsageException {
        List<Integer> v = ints(option, value, min);
        if (v.size() != 1) {
            throw new UsageException("option " + option + " takes one number, not '" + value + "'");
        }
        return v.get(0);
    }

    /** A comma-separated list of whole numbers, each at least {@code min}. */
    private static List<Integer> ints(String option, String csv, int min) throws UsageException {
        List<Integer> out = new ArrayList<>();
        for (String part : csv.split(",", -1)) {
            int v;
            try {
                v = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw new UsageException("option " + option + " takes whole numbers (comma-separated for lists),"
                        + " not '" + csv + "'");
            }
            if (v < min) {
                throw new UsageException("option " + option + " takes numbers of at least " + min + ", not " + v);
            }
            out.add(v);
        }
        return List.copyOf(out);
    }

    static void usage(PrintStream out) {
        out.println("usage: sealift bench [--json FILE] [--sizes 256,1024,4096] [--wws 0,16,64] [--runs 3]"
                + " [--fill 50] [--ceiling-mib 512] [--lab] [--no-warmup]");
        out.println("                    [--protected-mib-per-lab " + PROTECTED_MIB_PER_LAB + "]");
        out.println("  starts two lab hosts (simulated hypervisor + agent each, lab CA, loopback), migrates VMs"
                + " between them");
        out.println("  through the management API and the agents' TLS 1.3 channel, secure and plain, and prints"
                + " medians:");
        out.println("  total time, downtime, rounds, bytes, throughput, secure/plain ratios; and the raw loopback"
                + " TLS");
        out.println("  throughput of this machine with the agents' TLS setup (the ceiling).");
        out.println("  --lab          use hosts h1 and h2 of the running lab instead of starting one");
        out.println("  --fill         share of the secure VM's normal pages with non-zero contents (the rest travel as zero");
        out.println("                 markers); the plain VM holds as much data (fill*3/4 + 25 percent of its pages)");
        out.println("  --ceiling-mib  how much each ceiling measurement sends");
        out.println("  --no-warmup    skip the unrecorded warm-up migrations (" + WARM_UP_PAIRS
                + " per mode after each lab start, then one per VM size)");
        out.println("  --protected-mib-per-lab  protected memory a lab's hypervisors carry before the benchmark"
                + " replaces");
        out.println("                 the lab (a fresh lab per so much migrated protected memory)");
    }

    // ---- the matrix ---------------------------------------------------------------------------------------------

    private List<RunResult> measure() throws Exception {
        List<RunResult> results = new ArrayList<>();
        for (int mem : settings.sizes()) {
            if (settings.warmUp()) {
                warmUpPair(mem);
            }
            for (int wws : settings.workingSets()) {
                if (wws * 2 > mem) {
                    continue; // as in the engine benchmark: a working set over half the VM is not a pre-copy case
                }
                // plain and secure alternate, so that a busy neighbour on a shared machine weighs on both alike
                for (int r = 1; r <= settings.runs(); r++) {
                    for (MigrationMode mode : List.of(MigrationMode.PLAIN, MigrationMode.SECURE)) {
                        if (mode == MigrationMode.SECURE && lab != null
                                && needsFreshLab(protectedMiB, mem, settings.protectedMiBPerLab())) {
                            err.println("sealift bench: " + protectedMiB + " MiB of protected memory went through"
                                    + " this lab's hypervisors; starting a fresh lab for the next runs");
                            startLab();
                        }
                        RunResult res = once(mem, wws, mode, r);
                        results.add(res);
                        out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB run %d: %s%n", mode, mem, wws, r,
                                describe(res));
                    }
                }
            }
        }
        return results;
    }

    private static TlsCredentials operator(LabInfo info) throws Exception {
        return TlsCredentials.load(Path.of(info.operator().cert()), Path.of(info.operator().key()),
                Path.of(info.operator().ca()), Clock.systemUTC());
    }

    static String describe(RunResult r) {
        String totals = String.format(Locale.ROOT, "%8.1f ms total, %7.2f ms downtime, %d rounds, %d bytes",
                r.totalMs(), r.downtimeMs(), r.rounds(), r.bytes());
        Cpu c = r.cpu();
        if (c.known()) {
            totals += String.format(Locale.ROOT, "; CPU ms: agents %d + %d, hypervisors %d + %d", c.sourceAgent(),
                    c.destinationAgent(), c.sourceHypervisor(), c.destinationHypervisor());
        }
        return r.committed() ? totals : r.outcome() + ": " + r.reason() + " (" + totals + ")";
    }

    /** Creates the VM on the source, migrates it through the source agent's API, then removes it from both hosts. */
    private RunResult once(int mem, int wws, MigrationMode mode, int run) {
        if (mode == MigrationMode.SECURE) {
            protectedMiB += mem / 4;
        }
        String name = "bench-" + ProcessHandle.current().pid() + "-" + (++vmSerial);
        DomainConfig c = EngineBench.vm(mem, wws, mode, name, settings.fillPercent());
        try {
            src.api().post("/v1/vms", VmSpec.of(c));
            long[] cpu0 = cpu();
            JsonNode outcome = migrate(src.api(), name, mode);
            Cpu cpu = Cpu.between(cpu0, cpu());
            JsonNode t = outcome.path("totals");
            String o = outcome.path("outcome").asText("");
            if (o.isEmpty()) {
                o = "NO_OUTCOME";
            }
            Map<String, Double> steps = new java.util.LinkedHashMap<>();
            t.path("downtimeStepsMs").properties().forEach(e -> steps.put(e.getKey(), e.getValue().asDouble()));
            return new RunResult(mem, wws, mode, run, o, outcome.path("reason").asText(""),
                    t.path("totalMs").asDouble(), t.path("downtimeMs").asDouble(), t.path("rounds").asInt(),
                    t.path("bytes").asLong(), cpu, steps);
        } catch (AgentClient.ApiError | AgentClient.Unreachable | IOException e) {
            return new RunResult(mem, wws, mode, run, "REFUSED", e.getMessage(), 0, 0, 0, 0, Cpu.UNKNOWN);
        } finally {
            remove(dst, name);
            remove(src, name);
        }
    }

    /**
     * Whether a secure run of a {@code memMiB} VM (a quarter protected) would take a lab past its budget; a lab that
     * carried nothing yet takes any run, or a VM larger than the budget could never be measured.
     */
    static boolean needsFreshLab(long carriedMiB, int memMiB, long budgetMiB) {
        return carriedMiB > 0 && carriedMiB + memMiB / 4 > budgetMiB;
    }

    private long[] cpu() {
        long[] ms = new long[pids.length];
        for (int i = 0; i < pids.length; i++) {
            ms[i] = pids[i] > 0 ? EngineBench.cpuMillis(pids[i]) : -1;
        }
        return ms;
    }

    /** Starts the migration and waits for its outcome on the source agent's event stream. */
    private static JsonNode migrate(AgentClient src, String vm, MigrationMode mode)
            throws AgentClient.ApiError, AgentClient.Unreachable, IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("vm", vm);
        body.put("to", DESTINATION);
        body.put("mode", mode.name().toLowerCase(Locale.ROOT));
        // subscribed before the migration starts, so its outcome cannot be missed
        try (AgentClient.EventStream events = src.events("outcome")) {
            String id = src.post("/v1/migrations", body).path("id").asText();
            CompletableFuture<Optional<AgentClient.Event>> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return events.next(e -> id.equals(e.data().path("id").asText()));
                } catch (IOException e) {
                    return Optional.empty();
                }
            });
            try {
                Optional<AgentClient.Event> e = next.get(OUTCOME_WAIT.toMinutes(), TimeUnit.MINUTES);
                if (e.isPresent()) {
                    return e.get().data();
                }
            } catch (TimeoutException e) {
                events.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for migration " + id, e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IOException(e.getCause());
            }
            // the stream ended early (or the wait ran out): the migration's status says where it is
            JsonNode v = src.get("/v1/migrations/" + id);
            String state = v.path("state").asText();
            if (state.equals("running") || state.equals("finishing")) {
                ObjectNode o = v.deepCopy();
                o.put("outcome", "NO_OUTCOME");
                o.put("reason", "no outcome after " + OUTCOME_WAIT.toMinutes() + " minutes (state " + state
                        + "); see the agents' logs");
                return o;
            }
            return v;
        }
    }

    /**
     * Destroys the VM where it is (ignoring hosts that do not have it); the hypervisors refuse while a migration
     * still holds it (the destination may still be logging the attestation record), so refusals are retried.
     */
    private void remove(Agent agent, String vm) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            int status;
            String message;
            try {
                status = agent.delete("/v1/vms/" + vm);
                message = "";
            } catch (IOException e) {
                status = -1;
                message = e.getMessage();
            }
            if (status == 200 || status == 404) {
                return;
            }
            if (System.nanoTime() > until) {
                err.println("sealift bench: could not remove VM " + vm + " from " + agent.api().name() + " (HTTP " + status
                        + " " + message + "); it stays there until the lab stops");
                return;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- results ------------------------------------------------------------------------------------------------

    /** Medians over the committed runs of each configuration, in the engine benchmark's rows. */
    static List<EngineBench.Row> rows(List<RunResult> results) {
        List<EngineBench.Row> rows = new ArrayList<>();
        List<RunResult> seen = new ArrayList<>();
        for (RunResult r : results) {
            if (seen.stream().anyMatch(r::sameConfiguration)) {
                continue;
            }
            seen.add(r);
            List<double[]> samples = results.stream().filter(x -> x.sameConfiguration(r) && x.committed())
                    .map(RunResult::sample).toList();
            List<String> failures = results.stream().filter(x -> x.sameConfiguration(r) && !x.committed())
                    .map(x -> "run " + x.run() + ": " + x.outcome() + ": " + x.reason()).toList();
            if (samples.isEmpty()) {
                // kept as the engine benchmark keeps it: ABORTED, no medians, the reasons
                rows.add(new EngineBench.Row(r.memMiB(), r.wwsMiB(), r.mode(), Double.NaN, Double.NaN, 0, 0,
                        samples, EngineBench.ABORTED, failures));
            } else {
                rows.add(new EngineBench.Row(r.memMiB(), r.wwsMiB(), r.mode(), EngineBench.median(samples, 0),
                        EngineBench.median(samples, 1), (int) EngineBench.median(samples, 2),
                        (long) EngineBench.median(samples, 3), samples, EngineBench.COMMITTED, failures));
            }
        }
        // the table shows plain before secure for each size and working set
        rows.sort((a, b) -> a.memMiB() != b.memMiB() ? Integer.compare(a.memMiB(), b.memMiB())
                : a.wwsMiB() != b.wwsMiB() ? Integer.compare(a.wwsMiB(), b.wwsMiB()) : a.mode().compareTo(b.mode()));
        return rows;
    }

    private static void printCeiling(String when, Ceiling c, PrintStream out) {
        out.printf(Locale.ROOT, "loopback TLS 1.3 ceiling %s (the agents' channel setup, median of %d x %d MiB):"
                + " %.0f MB/s with 1 MiB writes, %.0f MB/s as the engine's transport writes; per CPU-second of both"
                + " ends %.0f and %.0f MB%n", when, c.repetitions(), c.mib(), c.rawMBps(), c.transportMBps(),
                c.rawMBperCpuSecond(), c.transportMBperCpuSecond());
    }

    /** Median CPU milliseconds of all four processes per committed run of a configuration; NaN if none is known. */
    static double cpuTotalMedian(List<RunResult> results, int memMiB, int wwsMiB, MigrationMode mode) {
        List<double[]> totals = results.stream().filter(r -> r.memMiB() == memMiB && r.wwsMiB() == wwsMiB
                && r.mode() == mode && r.committed() && r.cpu().known()).map(r -> new double[] {r.cpu().sourceAgent()
                + r.cpu().destinationAgent() + r.cpu().sourceHypervisor() + r.cpu().destinationHypervisor()})
                .toList();
        return totals.isEmpty() ? Double.NaN : EngineBench.median(totals, 0);
    }

    /**
     * Median of each downtime step over the committed runs of a configuration that report steps, in the order the
     * engine took them; empty if none does.
     */
    static Map<String, Double> downtimeStepMedians(List<RunResult> results, int memMiB, int wwsMiB,
            MigrationMode mode) {
        List<RunResult> mine = results.stream().filter(r -> r.memMiB() == memMiB && r.wwsMiB() == wwsMiB
                && r.mode() == mode && r.committed() && !r.downtimeSteps().isEmpty()).toList();
        Map<String, Double> medians = new java.util.LinkedHashMap<>();
        if (mine.isEmpty()) {
            return medians;
        }
        for (String step : mine.get(0).downtimeSteps().keySet()) {
            List<double[]> v = mine.stream().filter(r -> r.downtimeSteps().containsKey(step))
                    .map(r -> new double[] {r.downtimeSteps().get(step)}).toList();
            medians.put(step, Math.round(EngineBench.median(v, 0) * 100) / 100.0);
        }
        return medians;
    }

    /** Where the downtime goes, step by step (medians): what a downtime target has to shorten. */
    static void printDowntimeSteps(List<EngineBench.Row> rows, List<RunResult> results, PrintStream out) {
        boolean header = false;
        for (EngineBench.Row r : rows.stream().filter(EngineBench.Row::committed).toList()) {
            Map<String, Double> m = downtimeStepMedians(results, r.memMiB(), r.wwsMiB(), r.mode());
            if (m.isEmpty()) {
                continue;
            }
            if (!header) {
                out.println("downtime steps (median ms of the committed runs; the source's clock, pause to the"
                        + " destination's word that the VM runs):");
                header = true;
            }
            StringBuilder b = new StringBuilder();
            m.forEach((k, v) -> b.append(String.format(Locale.ROOT, " %s %.1f", k, v)));
            out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB:%s%n", r.mode(), r.memMiB(), r.wwsMiB(), b);
        }
    }

    /** CPU time next to the wall-clock table: what the neighbours on a shared machine cannot stretch. */
    static void printCpu(List<EngineBench.Row> rows, List<RunResult> results, PrintStream out) {
        out.println("CPU per migration (median ms of the four processes: both agents and both hypervisors):");
        for (EngineBench.Row r : rows.stream().filter(EngineBench.Row::committed).toList()) {
            double cpu = cpuTotalMedian(results, r.memMiB(), r.wwsMiB(), r.mode());
            if (Double.isNaN(cpu)) {
                continue;
            }
            double plain = cpuTotalMedian(results, r.memMiB(), r.wwsMiB(), MigrationMode.PLAIN);
            out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB: %7.0f ms%s%n", r.mode(), r.memMiB(), r.wwsMiB(), cpu,
                    r.mode() == MigrationMode.SECURE && plain > 0
                            ? String.format(Locale.ROOT, " (%.2f x plain)", cpu / plain) : "");
        }
    }

    private static void printCeilingAndTargets(List<EngineBench.Row> rows, Ceiling ceiling, PrintStream out) {
        out.printf(Locale.ROOT, "ceiling: loopback TLS 1.3 carries %.0f MB/s here (%.0f MB/s as the engine's"
                + " transport writes); the medians' bytes alone would take:%n", ceiling.rawMBps(),
                ceiling.transportMBps());
        for (EngineBench.Row r : rows.stream().filter(EngineBench.Row::committed).toList()) {
            out.printf(Locale.ROOT, "  %-6s %5d MiB wws %3d MiB: %8.1f ms at the ceiling (%.0f%% of the measured"
                    + " total)%n", r.mode(), r.memMiB(), r.wwsMiB(), ceiling.millisFor(r.bytes()),
                    100.0 * ceiling.millisFor(r.bytes()) / r.totalMs());
        }
        double worst = 0;
        for (EngineBench.Row s : rows) {
            Optional<EngineBench.Row> p = plainOf(rows, s);
            if (s.mode() == MigrationMode.SECURE && s.committed() && p.isPresent()) {
                worst = Math.max(worst, s.totalMs() / p.get().totalMs());
            }
        }
        if (worst > 0) {
            out.printf(Locale.ROOT, "target secure/plain total-time ratio <= 1.10: worst %.3f (%s)%n", worst,
                    worst <= 1.10 ? "met" : "not met");
        }
        rows.stream().filter(r -> r.mode() == MigrationMode.SECURE && r.memMiB() == 1024 && r.wwsMiB() == 16
                && r.committed()).findFirst().ifPresent(r -> out.printf(Locale.ROOT, "target 1 GiB VM, 16 MiB working set, secure:"
                        + " under 1000 ms total and 50 ms downtime: %.1f ms and %.2f ms (%s); its %d bytes need"
                        + " %.1f ms at the loopback TLS ceiling%n", r.totalMs(), r.downtimeMs(),
                        r.totalMs() < 1000 && r.downtimeMs() < 50 ? "met" : "not met", r.bytes(),
                        ceiling.millisFor(r.bytes())));
    }

    private static Optional<EngineBench.Row> plainOf(List<EngineBench.Row> rows, EngineBench.Row r) {
        return rows.stream().filter(p -> p.mode() == MigrationMode.PLAIN && p.memMiB() == r.memMiB()
                && p.wwsMiB() == r.wwsMiB() && p.committed()).findFirst();
    }

    /**
     * The engine benchmark's JSON rows ({@code outcome}: COMMITTED with medians over the committed runs, or ABORTED
     * with null medians; {@code failures}: why runs did not commit), each with the runs that did not commit in
     * detail ({@code notCommitted}: run, the agent's outcome and reason, totals, CPU), the median CPU time of the
     * committed runs, and the ceiling.
     */
    static String toJson(List<EngineBench.Row> rows, List<RunResult> results, Ceiling ceiling) throws IOException {
        ArrayNode json = (ArrayNode) Json.mapper().readTree(EngineBench.toJson(rows));
        for (int i = 0; i < rows.size(); i++) {
            EngineBench.Row r = rows.get(i);
            ObjectNode row = (ObjectNode) json.get(i);
            List<RunResult> mine = results.stream().filter(x -> x.memMiB() == r.memMiB() && x.wwsMiB() == r.wwsMiB()
                    && x.mode() == r.mode()).toList();
            List<double[]> cpu = mine.stream().filter(x -> x.committed() && x.cpu().known())
                    .map(x -> x.cpu().sample()).toList();
            if (!cpu.isEmpty()) {
                putCpu(row.putObject("cpuMs"), new Cpu((long) EngineBench.median(cpu, 0),
                        (long) EngineBench.median(cpu, 1), (long) EngineBench.median(cpu, 2),
                        (long) EngineBench.median(cpu, 3)));
            }
            Map<String, Double> steps = downtimeStepMedians(results, r.memMiB(), r.wwsMiB(), r.mode());
            if (!steps.isEmpty()) {
                ObjectNode o = row.putObject("downtimeStepsMs");
                steps.forEach(o::put);
            }
            ArrayNode nc = row.putArray("notCommitted");
            for (RunResult f : mine.stream().filter(x -> !x.committed()).toList()) {
                ObjectNode o = nc.addObject();
                o.put("run", f.run());
                o.put("outcome", f.outcome());
                o.put("reason", f.reason());
                o.put("totalMs", f.totalMs());
                o.put("downtimeMs", f.downtimeMs());
                o.put("rounds", f.rounds());
                o.put("bytes", f.bytes());
                if (f.cpu().known()) {
                    putCpu(o.putObject("cpuMs"), f.cpu());
                }
            }
            row.put("transport", "lab agents, TLS 1.3 agent channel on loopback");
            row.put("tlsCeilingMBps", Math.round(ceiling.rawMBps() * 10) / 10.0);
            row.put("tlsCeilingMBperCpuSecond", Math.round(ceiling.rawMBperCpuSecond() * 10) / 10.0);
        }
        return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n";
    }

    private static void putCpu(ObjectNode o, Cpu c) {
        o.put("sourceAgent", c.sourceAgent());
        o.put("destinationAgent", c.destinationAgent());
        o.put("sourceHypervisor", c.sourceHypervisor());
        o.put("destinationHypervisor", c.destinationHypervisor());
    }

    // ---- the ceiling --------------------------------------------------------------------------------------------

    /**
     * Streams {@code mib} MiB from the source's to the destination's agent-channel credentials over loopback, through
     * the agents' own channel server and client (TLS 1.3, mutual authentication, their parameters), {@code reps}
     * times each way of writing: 1 MiB writes on the TLS socket, and the engine's {@link ChannelTransport} with its
     * outbound buffer size. Medians in MB/s; the time runs from the first byte written to the receiver's count.
     */
    static Ceiling measureCeiling(Path labDir, int mib, int reps) throws Exception {
        TlsCredentials a = agentCredentials(labDir, SOURCE);
        TlsCredentials b = agentCredentials(labDir, DESTINATION);
        Clock clock = Clock.systemUTC();
        try (AgentChannelServer server = AgentChannelServer.start(b, InetAddress.getLoopbackAddress(), 0,
                LabBench::countAndAnswer, Duration.ofSeconds(10), 4, clock, refusal -> { })) {
            AgentChannelClient client = new AgentChannelClient(a, clock, Duration.ofSeconds(10));
            long total = mib * 1048576L;
            byte[] block = new byte[1 << 20];
            new Random(1).nextBytes(block); // TLS 1.3 does not compress, but keep the bytes honest anyway
            ByteBuffer direct = ByteBuffer.allocateDirect(OutboundStream.BUFFER_SIZE);
            // both ends run in this JVM: its CPU time is what sending and receiving cost together
            long self = ProcessHandle.current().pid();
            List<double[]> raw = new ArrayList<>();
            List<double[]> transport = new ArrayList<>();
            for (int rep = 0; rep < reps; rep++) {
                for (boolean viaTransport : new boolean[] {false, true}) {
                    try (ChannelConnection c = client.connect(server.address(), DESTINATION, "bench-ceiling")) {
                        long t0 = System.nanoTime();
                        long cpu0 = EngineBench.cpuMillis(self);
                        if (viaTransport) {
                            Transport t = ChannelTransport.of(c.in(), c.out(), c.describe(), c);
                            for (long sent = 0; sent < total; ) {
                                direct.clear();
                                int n = (int) Math.min(direct.capacity(), total - sent);
                                direct.put(block, 0, Math.min(n, block.length));
                                direct.position(n).flip();
                                t.write(direct);
                                sent += n;
                            }
                        } else {
                            for (long sent = 0; sent < total; sent += block.length) {
                                c.out().write(block, 0, (int) Math.min(block.length, total - sent));
                            }
                        }
                        c.out().flush();
                        c.shutdownOutput();
                        long received = new DataInputStream(c.in()).readLong();
                        double seconds = (System.nanoTime() - t0) / 1e9;
                        double cpuSeconds = (EngineBench.cpuMillis(self) - cpu0) / 1000.0;
                        if (received != total) {
                            throw new IOException("the ceiling receiver counted " + received + " bytes of " + total);
                        }
                        (viaTransport ? transport : raw).add(new double[] {total / seconds / 1e6,
                            cpuSeconds > 0 ? total / cpuSeconds / 1e6 : 0});
                    }
                }
            }
            return new Ceiling(EngineBench.median(raw, 0), EngineBench.median(transport, 0),
                    EngineBench.median(raw, 1), EngineBench.median(transport, 1), mib, reps);
        }
    }

    private static void countAndAnswer(ChannelConnection c) throws IOException {
        byte[] buf = new byte[1 << 20];
        long n = 0;
        InputStream in = c.in();
        for (int k; (k = in.read(buf)) >= 0; ) {
            n += k;
        }
        DataOutputStream o = new DataOutputStream(c.out());
        o.writeLong(n);
        o.flush();
        c.shutdownOutput();
    }

    private static TlsCredentials agentCredentials(Path labDir, String host) throws Exception {
        Path creds = labDir.resolve("hosts").resolve(host).resolve("credentials");
        return TlsCredentials.load(creds.resolve("agent-tls.crt"), creds.resolve("agent-tls.key"),
                creds.resolve("cluster-trust.pem"), Clock.systemUTC());
    }

    /**
     * One lab agent: the CLI's API client, and an HTTP client with the same operator TLS context for {@code DELETE}
     * (which the CLI's client does not offer).
     */
    private record Agent(AgentClient api, HttpClient http) {

        static Agent of(LabInfo info, String host, TlsCredentials op) throws Exception {
            LabInfo.Agent a = info.agent(host).orElseThrow(() -> new IllegalStateException("the lab in "
                    + info.dir() + " has no host " + host + "; the benchmark migrates " + SOURCE + " -> "
                    + DESTINATION));
            SSLContext ctx = SealiftTls.managementApiClient(op, host, Clock.systemUTC());
            return new Agent(new AgentClient(a.host(), URI.create(a.api()), op, Clock.systemUTC()),
                    HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false))
                            .connectTimeout(Duration.ofSeconds(10)).build());
        }

        /** The HTTP status of {@code DELETE path}. */
        int delete(String path) throws IOException {
            HttpRequest req = HttpRequest.newBuilder(api.base().resolve(path)).timeout(Duration.ofSeconds(60))
                    .DELETE().build();
            try {
                return http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while calling " + api.name(), e);
            }
        }
    }
}
