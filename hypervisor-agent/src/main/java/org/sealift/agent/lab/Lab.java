package org.sealift.agent.lab;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.JarURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.sealift.agent.Main;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.cli.CaCommand;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.sim.SimHostConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.VendorRoot;

/**
 * A simulated cluster on this machine for training and tests: hosts h1, h2, h3 (each a simulated hypervisor process
 * and an agent process on loopback) with a fresh lab CA, demo VMs with running workloads, and a rogue host h4 whose
 * hypervisor is another build (one extra class file), so its measurement is not in the lab policy. Everything lives
 * in one folder; {@link #close()} stops every process the lab started.
 */
public final class Lab implements AutoCloseable {

    public static final List<String> HOSTS = List.of("h1", "h2", "h3");
    public static final String ROGUE = "h4";
    static final String OPERATOR = "lab";

    /** JVM options of lab agents: small heaps, a CPU-light collector (labs share small machines). */
    static final List<String> AGENT_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:MaxDirectMemorySize=512m");

    /** How the lab is set up. */
    public record Options(boolean rogue, boolean demoVms, Map<String, String> agentSettings, boolean diagnostics) {
        public Options(boolean rogue, boolean demoVms, Map<String, String> agentSettings) {
            this(rogue, demoVms, agentSettings, false);
        }

        public static Options defaults() {
            // the destination waits less after READY than in production, so lab exercises end in seconds
            return new Options(true, true, Map.of("migration.ready-deadline-ms", "10000",
                    "migration.attest-wait-ms", "30000", "migration.resolve-interval-ms", "3000"));
        }

        public Options withoutRogue() {
            return new Options(false, demoVms, agentSettings, diagnostics);
        }

        public Options withoutDemoVms() {
            return new Options(rogue, false, agentSettings, diagnostics);
        }

        /** One agent setting changed (or added), e.g. a longer READY deadline for crash exercises. */
        public Options with(String key, String value) {
            Map<String, String> m = new LinkedHashMap<>(agentSettings);
            m.put(key, value);
            return new Options(rogue, demoVms, Map.copyOf(m), diagnostics);
        }

        /**
         * Hypervisors with test diagnostics (digests of protected memory, for tests that compare copies). It is part
         * of the measurement, so the lab policy then admits the diagnostics build instead of the plain one.
         */
        public Options withDiagnostics() {
            return new Options(rogue, demoVms, agentSettings, true);
        }
    }

    /** The lab could not start; the message says why. */
    public static final class LabException extends Exception {
        private static final long serialVersionUID = 1L;

        LabException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Path dir;
    private final PrintStream progress;
    private final Path memoryDir;
    private final Map<String, Process> agents = new LinkedHashMap<>();
    private final Map<String, Path> sockets = new LinkedHashMap<>();
    private final Map<String, Long> hypervisorPids = new LinkedHashMap<>();
    private final List<LabInfo.Agent> started = new ArrayList<>();
    private LabInfo info;
    private Options options;
    private LabControl control;
    private boolean closed;

    private Lab(Path dir, PrintStream progress) {
        this.dir = dir;
        this.progress = progress;
        Path shm = Path.of("/dev/shm");
        String tag = HexFormat.of().formatHex(sha256(dir.toString().getBytes(StandardCharsets.UTF_8)), 0, 6);
        this.memoryDir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm.resolve("sealift-lab-" + tag)
                : dir.resolve("memory");
    }

    public Path dir() {
        return dir;
    }

    public LabInfo info() {
        return info;
    }

    /**
     * Starts a fresh lab in {@code dir} (whatever an earlier, stopped lab left there is replaced).
     *
     * @param progress where setup steps are reported (stderr for the CLI)
     */
    public static Lab start(Path dir, Options options, PrintStream progress) throws LabException {
        Lab lab = new Lab(dir.toAbsolutePath().normalize(), progress);
        try {
            lab.setUp(options);
        } catch (Exception e) {
            lab.close();
            if (e instanceof LabException l) {
                throw l;
            }
            throw new LabException("the lab could not start: " + e.getMessage(), e);
        }
        return lab;
    }

    private void setUp(Options options) throws Exception {
        this.options = options;
        LabInfo.read(dir).ifPresent(old -> stopLeftovers(old, progress));
        for (String sub : List.of("hosts", "ca", "operator", "vendor", "rogue-build", "memory")) {
            deleteTree(dir.resolve(sub));
        }
        for (String f : List.of("peers.conf", LabInfo.FILE, "vendor-root.crt")) {
            Files.deleteIfExists(dir.resolve(f));
        }
        Files.createDirectories(dir);
        restrict(dir);
        deleteTree(memoryDir);
        List<String> all = new ArrayList<>(HOSTS);
        if (options.rogue()) {
            all.add(ROGUE);
        }
        // the simulated hardware vendor, made once: hosts booting at the same moment must not each make their own
        VendorRoot.create("Sealift Simulated Hardware Vendor", java.time.Instant.now().minus(Duration.ofDays(1)),
                Duration.ofDays(3650)).save(dir.resolve("vendor"));
        progress.println("lab: starting hypervisors " + all + " (simulated hardware, one process each)");
        Map<String, Process> booting = new LinkedHashMap<>();
        for (String h : HOSTS) {
            booting.put(h, SimBackend.start(simHost(h)));
        }
        if (options.rogue()) {
            booting.put(ROGUE, startRogueHypervisor(simHost(ROGUE)));
        }
        Map<String, SimBackend> backends = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Process> e : booting.entrySet()) {
                SimBackend b = awaitHypervisor(simHost(e.getKey()), e.getValue());
                backends.put(e.getKey(), b);
                sockets.put(e.getKey(), b.socket());
                hypervisorPids.put(e.getKey(), b.hypervisorPid());
            }
            byte[] measurement = backends.get(HOSTS.get(0)).identity().measurement();
            setUpCa(measurement, backends);
        } finally {
            backends.values().forEach(SimBackend::close);
        }
        Files.writeString(dir.resolve("peers.conf"), "# agent channels of this lab (written by sealift lab)\n");
        for (String h : all) {
            started.add(startAgent(h, options, h.equals(ROGUE), 0, 0));
        }
        writePeers();
        Path op = dir.resolve("operator");
        control = LabControl.start(this, dir.resolve("ca"), progress);
        info = new LabInfo(dir.toString(), ProcessHandle.current().pid(), List.copyOf(started),
                new LabInfo.Operator(op.resolve(OPERATOR + ".crt").toString(), op.resolve(OPERATOR + ".key").toString(),
                        op.resolve("ca.crt").toString()),
                dir.resolve("ca").resolve("cluster-trust.pem").toString(),
                dir.resolve("ca").resolve("policy.pem").toString(), control.url());
        if (options.demoVms()) {
            createDemoVms(options.rogue());
        }
        info.write(dir);
    }

    private void writePeers() throws IOException {
        StringBuilder sb = new StringBuilder("# agent channels of this lab (written by sealift lab)\n");
        for (LabInfo.Agent a : started) {
            sb.append(a.host()).append(" = ").append(a.channel()).append('\n');
        }
        Path tmp = dir.resolve("peers.conf.tmp");
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, dir.resolve("peers.conf"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Stops the agent of {@code host} (SIGKILL if {@code kill}, as a crash; SIGTERM otherwise) and starts it again
     * on the same data directory, as an admin or systemd would: its hypervisor keeps running throughout.
     */
    public synchronized LabInfo.Agent restartAgent(String host, boolean kill) throws Exception {
        stopAgent(host, kill);
        return startAgentAgain(host);
    }

    /** Stops the agent of {@code host}: SIGKILL if {@code kill} (a crash), else SIGTERM; waits until it is gone. */
    public synchronized void stopAgent(String host, boolean kill) throws InterruptedException {
        Process p = agents.get(host);
        if (p == null) {
            throw new IllegalArgumentException("no agent " + host + " in this lab");
        }
        if (kill) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        p.waitFor(60, TimeUnit.SECONDS);
    }

    /** Starts the agent of {@code host} again on its data directory (after {@link #stopAgent} or a host crash). */
    public synchronized LabInfo.Agent startAgentAgain(String host) throws Exception {
        Process old = agents.get(host);
        if (old != null && old.isAlive()) {
            throw new IllegalStateException("the agent of " + host + " still runs (pid " + old.pid() + ")");
        }
        boolean rogue = host.equals(ROGUE);
        LabInfo.Agent before = started.stream().filter(x -> x.host().equals(host)).findFirst().orElse(null);
        LabInfo.Agent a;
        if (before == null) {
            a = startAgent(host, options, rogue, 0, 0);
        } else {
            // the same addresses as before, as a rebooted host keeps its own: consoles and CLIs that read lab.json
            // earlier still reach it (another program may have taken a port meanwhile: then fresh ones)
            int api = URI.create(before.api()).getPort();
            int channel = Integer.parseInt(before.channel().substring(before.channel().lastIndexOf(':') + 1));
            try {
                a = startAgent(host, options, rogue, api, channel);
            } catch (LabException e) {
                progress.println("lab: the agent of " + host + " could not listen on its old ports " + api + " and "
                        + channel + "; starting it on new ones");
                a = startAgent(host, options, rogue, 0, 0);
            }
        }
        LabInfo.Agent now = a;
        started.replaceAll(x -> x.host().equals(host) ? now : x);
        writePeers();
        info = info.withAgents(started);
        info.write(dir);
        return a;
    }

    /**
     * Crashes the whole host {@code host}: SIGKILL to its agent and to its hypervisor process. Its VMs are lost with
     * the hypervisor's RAM; the sealed decision state stays on disk. {@link #restartHost} boots it again.
     */
    public synchronized void killHost(String host) throws InterruptedException {
        stopAgent(host, true);
        Long pid = hypervisorPids.get(host);
        if (pid != null) {
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isPresent()) {
                h.get().destroyForcibly();
                // the hypervisor runs in its own session (not our child): poll until it is gone
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (h.get().isAlive() && System.nanoTime() < until) {
                    Thread.sleep(20);
                }
            }
        }
    }

    /**
     * Boots the hypervisor of a crashed host from its sealed state (same hardware and state directories), then
     * starts its agent, which re-provisions it and settles what the sealed decisions leave open.
     */
    public synchronized LabInfo.Agent restartHost(String host) throws Exception {
        Process old = agents.get(host);
        if (old != null && old.isAlive()) {
            throw new IllegalStateException("host " + host + " still runs: kill it first");
        }
        SimHostConfig c = simHost(host);
        SimBackend b = awaitHypervisor(c, SimBackend.start(c));
        try {
            hypervisorPids.put(host, b.hypervisorPid());
        } finally {
            b.close();
        }
        return startAgentAgain(host);
    }

    /** Whether a lab host's agent and hypervisor processes are alive. */
    public record HostState(String host, boolean rogue, boolean agentAlive, boolean hypervisorAlive,
            LabInfo.Agent agent) {
        public boolean up() {
            return agentAlive && hypervisorAlive;
        }

        public boolean down() {
            return !agentAlive && !hypervisorAlive;
        }
    }

    /** Every host of this lab as its processes are now. */
    public synchronized List<HostState> hostStates() {
        List<HostState> out = new ArrayList<>();
        for (LabInfo.Agent a : started) {
            out.add(hostState(a.host()).orElseThrow());
        }
        return out;
    }

    /** One host as its processes are now; empty if this lab has no such host. */
    public synchronized Optional<HostState> hostState(String host) {
        Optional<LabInfo.Agent> a = started.stream().filter(x -> x.host().equals(host)).findFirst();
        if (a.isEmpty()) {
            return Optional.empty();
        }
        Process p = agents.get(host);
        Long hv = hypervisorPids.get(host);
        boolean hvAlive = hv != null && ProcessHandle.of(hv).map(ProcessHandle::isAlive).orElse(false);
        return Optional.of(new HostState(host, a.get().rogue(), p != null && p.isAlive(), hvAlive, a.get()));
    }

    /** The local socket of the host's hypervisor, where tests play dom0 (as the agent does). */
    public Path hypervisorSocket(String host) {
        return simHost(host).socket();
    }

    private SimHostConfig simHost(String host) {
        return SimHostConfig.of(host, dir.resolve("hosts").resolve(host).resolve("hypervisor"), dir.resolve("vendor"))
                .withMemoryDir(memoryDir).withDiagnostics(options != null && options.diagnostics());
    }

    private static SimBackend awaitHypervisor(SimHostConfig host, Process p) throws LabException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                return SimBackend.attach(host.socket());
            } catch (HypervisorException e) {
                if (!p.isAlive()) {
                    throw new LabException("the hypervisor of " + host.hostId() + " exited (status " + p.exitValue()
                            + "); see " + host.stateDir().resolve("hypervisor.log"), e);
                }
                if (System.nanoTime() > deadline) {
                    throw new LabException("the hypervisor of " + host.hostId() + " did not start within 120 s; see "
                            + host.stateDir().resolve("hypervisor.log"), e);
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * The rogue host's hypervisor: the same code plus one class file the trusted build does not have, started from a
     * copy of its classes placed first on the class path. Its measurement covers every class file of the hypervisor
     * package, so it differs; nothing inside a trusted hypervisor is switched.
     */
    private Process startRogueHypervisor(SimHostConfig host) throws IOException {
        Path build = dir.resolve("rogue-build");
        String pkg = "org/sealift/hypervisor/sim/";
        copyHypervisorClasses(pkg, build);
        Files.writeString(build.resolve(pkg).resolve("RogueBuildMarker.class"), "sealift lab: rogue hypervisor build "
                + System.nanoTime() + "\n", StandardCharsets.US_ASCII);
        Files.createDirectories(host.stateDir());
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(javaBinary());
        cmd.addAll(SimHostConfig.DEFAULT_JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(build + File.pathSeparator + System.getProperty("java.class.path"));
        cmd.add(SimBackend.HYPERVISOR_MAIN);
        cmd.addAll(List.of("--host-id", host.hostId(), "--state-dir", host.stateDir().toString(), "--socket",
                host.socket().toString(), "--memory-dir", memoryDir.toString(), "--vendor-dir",
                dir.resolve("vendor").toString()));
        return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(host.stateDir().resolve("hypervisor.log").toFile()))
                .redirectErrorStream(true).start();
    }

    /** Copies the hypervisor's class files (from a directory or a jar) under {@code to}. */
    private static void copyHypervisorClasses(String pkg, Path to) throws IOException {
        URL anchor = Lab.class.getClassLoader().getResource(pkg + "SimHypervisorMain.class");
        if (anchor == null) {
            throw new IOException("the hypervisor classes (" + pkg + ") are not on the class path");
        }
        Path target = to.resolve(pkg);
        Files.createDirectories(target);
        if (anchor.getProtocol().equals("jar")) {
            JarURLConnection c = (JarURLConnection) anchor.openConnection();
            try (JarFile jar = new JarFile(new File(c.getJarFileURL().getFile()))) {
                for (JarEntry e : java.util.Collections.list(jar.entries())) {
                    if (e.getName().startsWith(pkg) && e.getName().endsWith(".class")
                            && e.getName().indexOf('/', pkg.length()) < 0) {
                        try (InputStream in = jar.getInputStream(e)) {
                            Files.copy(in, to.resolve(e.getName()));
                        }
                    }
                }
            }
        } else {
            Path src;
            try {
                src = Path.of(anchor.toURI()).getParent();
            } catch (java.net.URISyntaxException e) {
                throw new IOException(e);
            }
            try (Stream<Path> s = Files.list(src)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".class")).toList()) {
                    Files.copy(p, target.resolve(p.getFileName().toString()));
                }
            }
        }
    }

    /** The lab CA, made and used through the same 'sealift ca' commands an operator runs. */
    private void setUpCa(byte[] measurement, Map<String, SimBackend> backends) throws Exception {
        Path ca = dir.resolve("ca");
        Path vendorRoot = dir.resolve("vendor-root.crt");
        Certificates.write(vendorRoot, List.of(VendorRoot.load(dir.resolve("vendor")).certificate()));
        ca(List.of("init", ca.toString(), "--name", "lab", "--measurement", Hex.encode(measurement) + "=sim-lab",
                "--vendor-root", vendorRoot.toString()));
        // a second policy, so that an older one exists for the old-policy exercise
        ca(List.of("sign-policy", "--ca", ca.toString()));
        for (Map.Entry<String, SimBackend> e : backends.entrySet()) {
            String h = e.getKey();
            SimBackend b = e.getValue();
            Path hostDir = dir.resolve("hosts").resolve(h);
            b.installClusterTrust(Files.readAllBytes(ca.resolve("cluster-trust.pem")));
            Path csr = hostDir.resolve("ak-enrollment.pem");
            Files.write(csr, b.createEnrollmentRequest());
            Path creds = hostDir.resolve("credentials");
            ca(List.of("enroll", "--host", h, "--csr", csr.toString(), "--ca", ca.toString(), "--out",
                    creds.toString()));
            Files.copy(ca.resolve("policies").resolve("policy-1.pem"), creds.resolve("old-policy.pem"));
        }
        ca(List.of("enroll", "--operator", OPERATOR, "--ca", ca.toString(), "--out", dir.resolve("operator")
                .toString()));
    }

    private void ca(List<String> args) throws LabException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = new CaCommand(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true,
                StandardCharsets.UTF_8), InputStream.nullInputStream(), Map.of(), Clock.systemUTC()).run(args);
        try {
            Files.writeString(dir.resolve("ca-setup.log"), "$ sealift ca " + String.join(" ", args) + "\n"
                    + out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8),
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the log is a convenience
        }
        if (rc != 0) {
            throw new LabException("'sealift ca " + String.join(" ", args) + "' failed: "
                    + err.toString(StandardCharsets.UTF_8).strip(), null);
        }
    }

    private LabInfo.Agent startAgent(String host, Options options, boolean rogue, int apiPort, int channelPort)
            throws Exception {
        Path hostDir = dir.resolve("hosts").resolve(host);
        Path conf = hostDir.resolve("agent.conf");
        StringBuilder c = new StringBuilder();
        c.append("# written by sealift lab: agent of lab host ").append(host).append(rogue
                ? " (rogue hypervisor build: its measurement is not in the lab policy)" : "").append('\n');
        c.append("host.id = ").append(host).append('\n');
        c.append("data.dir = ").append(hostDir.resolve("agent")).append('\n');
        c.append("credentials.dir = ").append(hostDir.resolve("credentials")).append('\n');
        c.append("api.address = 127.0.0.1\napi.port = ").append(apiPort).append("\nchannel.address = 127.0.0.1\n")
                .append("channel.port = ").append(channelPort).append('\n');
        c.append("allow-fault-injection = true\n");
        c.append("peers.file = ").append(dir.resolve("peers.conf")).append('\n');
        c.append("sim.state-dir = ").append(simHost(host).stateDir()).append('\n');
        c.append("sim.memory-dir = ").append(memoryDir).append('\n');
        // the lab started the hypervisor; an agent must never start a trusted build in the rogue host's place
        c.append("sim.start = false\n");
        options.agentSettings().forEach((k, v) -> c.append(k).append(" = ").append(v).append('\n'));
        Files.writeString(conf, c.toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(AGENT_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "agent", "--config",
                conf.toString()));
        Path log = hostDir.resolve("agent.log");
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        agents.put(host, p);
        String ready = awaitReady(host, p, log);
        // ready host=h1 api=https://127.0.0.1:40123 channel=127.0.0.1:38211
        String api = field(ready, "api=");
        String channel = field(ready, "channel=");
        String ak = hostDir.resolve("credentials").resolve("ak.crt").toString();
        return new LabInfo.Agent(host, api, channel, p.pid(), hypervisorPids.getOrDefault(host, -1L), rogue, ak);
    }

    private static String field(String line, String key) {
        int i = line.indexOf(key);
        int end = line.indexOf(' ', i);
        return line.substring(i + key.length(), end < 0 ? line.length() : end);
    }

    private String awaitReady(String host, Process p, Path log) throws LabException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                String l;
                while ((l = r.readLine()) != null) {
                    if (l.startsWith("ready host=")) {
                        return l;
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            return null;
        });
        String ready;
        try {
            ready = line.get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            ready = null;
        }
        if (ready == null) {
            throw new LabException("the agent of " + host + " did not start" + (p.isAlive() ? " within 120 s" : "")
                    + "; its log " + log + " ends with: " + tail(log), null);
        }
        // keep draining standard output so that the agent never blocks on a full pipe
        Thread drain = new Thread(() -> {
            try {
                while (r.readLine() != null) {
                    // nothing else is printed there
                }
            } catch (IOException e) {
                // the agent ended
            }
        }, "lab-drain-" + host);
        drain.setDaemon(true);
        drain.start();
        return ready;
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n  ", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** web-01 and db-01 (with protected process "vault") on h1, ci-runner (busy working set) on h2. */
    private void createDemoVms(boolean rogue) throws Exception {
        TlsCredentials op = TlsCredentials.load(Path.of(info.operator().cert()), Path.of(info.operator().key()),
                Path.of(info.operator().ca()), Clock.systemUTC());
        Map<String, List<Object>> vms = new LinkedHashMap<>();
        vms.put("h1", List.of(
                vm("web-01", 32, null, null, 256, 500, 0, 0),
                vm("db-01", 32, "vault", new long[] {2048, 1024}, 256, 500, 64, 200)));
        vms.put("h2", List.of(vm("ci-runner", 64, null, null, 2048, 4000, 0, 0)));
        if (rogue) {
            vms.put(ROGUE, List.of(vm("rogue-01", 16, "vault", new long[] {1024, 256}, 64, 100, 0, 0)));
        }
        for (Map.Entry<String, List<Object>> e : vms.entrySet()) {
            LabInfo.Agent a = info.agent(e.getKey()).orElseThrow();
            AgentClient client = new AgentClient(a.host(), URI.create(a.api()), op, Clock.systemUTC());
            for (Object body : e.getValue()) {
                client.post("/v1/vms", body);
            }
        }
        progress.println("lab: demo VMs running: web-01, db-01 (protected process vault) on h1; ci-runner on h2"
                + (rogue ? "; rogue-01 on h4" : ""));
    }

    private static Map<String, Object> vm(String name, int mib, String process, long[] range, long wsPages,
            long rate, long protWs, long protRate) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", name);
        body.put("memoryMiB", mib);
        body.put("vcpus", 1);
        if (process != null) {
            body.put("protectedProcesses", List.of(Map.of("name", process, "firstPfn", range[0], "pages", range[1])));
        }
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("fillPercent", 50);
        w.put("workingSetPages", wsPages);
        w.put("dirtyPagesPerSecond", rate);
        if (protWs > 0) {
            w.put("protectedWorkingSetPages", protWs);
            w.put("protectedDirtyPagesPerSecond", protRate);
        }
        body.put("workload", w);
        return body;
    }

    /** Stops what a lab recorded in its lab.json (an earlier lab whose controlling process is gone). */
    static void stopLeftovers(LabInfo old, PrintStream progress) {
        boolean any = false;
        for (LabInfo.Agent a : old.agents()) {
            for (long pid : new long[] {a.pid(), a.hypervisorPid()}) {
                Optional<ProcessHandle> h = pid > 0 ? ProcessHandle.of(pid) : Optional.empty();
                if (h.isPresent() && h.get().isAlive() && isSealiftProcess(h.get())) {
                    any = true;
                    h.get().destroy();
                    try {
                        h.get().onExit().get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.get().destroyForcibly();
                    }
                }
            }
        }
        if (any) {
            progress.println("lab: stopped the processes an earlier lab in " + old.dir() + " left running");
        }
    }

    /** Only processes whose command line is a Sealift agent or hypervisor are ever stopped by pid. */
    private static boolean isSealiftProcess(ProcessHandle h) {
        String cmd = h.info().commandLine().orElse("");
        return cmd.contains(SimBackend.HYPERVISOR_MAIN) || cmd.contains(Main.class.getName());
    }

    /** Stops the agents (gracefully), then powers the hypervisors off; removes guest memory and lab.json. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (control != null) {
            control.close();
        }
        for (Process p : agents.values()) {
            p.destroy();
        }
        for (Map.Entry<String, Process> e : agents.entrySet()) {
            try {
                if (!e.getValue().waitFor(30, TimeUnit.SECONDS)) {
                    e.getValue().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException ie) {
                e.getValue().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (Map.Entry<String, Path> e : sockets.entrySet()) {
            try {
                SimBackend.attach(e.getValue()).shutdownHypervisor();
            } catch (HypervisorException | RuntimeException ex) {
                Long pid = hypervisorPids.get(e.getKey());
                if (pid != null) {
                    ProcessHandle.of(pid).ifPresent(h -> {
                        h.destroy();
                        h.onExit().join();
                    });
                }
            }
        }
        deleteTree(memoryDir);
        try {
            Files.deleteIfExists(dir.resolve(LabInfo.FILE));
        } catch (IOException e) {
            // the next lab replaces it
        }
    }

    /** The pids of every process this lab runs (agents and hypervisors). */
    public List<Long> pids() {
        List<Long> out = new ArrayList<>();
        agents.values().forEach(p -> out.add(p.pid()));
        out.addAll(hypervisorPids.values());
        return out;
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static void restrict(Path p) {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            // not a POSIX file system: the folder keeps its permissions
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
