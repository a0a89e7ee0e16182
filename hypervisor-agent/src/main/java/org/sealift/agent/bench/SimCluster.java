package org.sealift.agent.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.sim.SimHostConfig;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.protocol.handshake.Suite;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.VendorRoot;

/**
 * Simulated hosts on this machine for the engine benchmark and the engine's end-to-end tests: each host's hypervisor
 * is its own process (started through {@link SimBackend}), enrolled as an operator would do it (cluster trust, the
 * endorsed CSR carried to a CA made here, the AK certificate, a policy admitting every host's measurement).
 */
public final class SimCluster implements AutoCloseable {

    private final Path root;
    private final Path vendorDir;
    private final Path memoryDir;
    private final boolean diagnostics;
    private final List<String> jvmOptions;
    private final ClusterCa ca;
    private final Map<String, SimBackend> hosts = new LinkedHashMap<>();
    private final Map<String, Long> pids = new LinkedHashMap<>();
    private long policySerial;
    private Policy currentPolicy;

    private SimCluster(Path root, boolean diagnostics, List<String> jvmOptions) throws IOException {
        this.root = root;
        this.vendorDir = root.resolve("vendor");
        this.memoryDir = memoryDir(root);
        this.diagnostics = diagnostics;
        this.jvmOptions = jvmOptions;
        this.ca = ClusterCa.create("engine-cluster", Instant.now().minusSeconds(3600), Duration.ofDays(30));
    }

    /**
     * Guest memory belongs in RAM (tmpfs), as it is for a real hypervisor: a file on a disk file system makes every
     * first touch of a page a read with zero-fill and every write a dirty page to flush, which the engine would pay
     * for. One directory per cluster under /dev/shm, or under {@code root} where there is no /dev/shm.
     */
    private static Path memoryDir(Path root) throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return Files.createTempDirectory(shm, "sealift-cluster-");
        }
        return root.resolve("shm");
    }

    /**
     * Boots and enrolls {@code hostIds} under {@code root}.
     *
     * @param diagnostics start the hypervisors with test diagnostics (protected-memory digests for tests)
     */
    public static SimCluster start(Path root, boolean diagnostics, List<String> jvmOptions, String... hostIds)
            throws Exception {
        SimCluster c = new SimCluster(root, diagnostics, jvmOptions);
        try {
            for (String h : hostIds) {
                c.boot(h);
            }
            c.ca.trustVendorRoot(VendorRoot.load(c.vendorDir).certificate());
            for (String h : hostIds) {
                c.enroll(h);
            }
            c.publishPolicy();
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
        return c;
    }

    public static SimCluster start(Path root, boolean diagnostics, String... hostIds) throws Exception {
        return start(root, diagnostics, SimHostConfig.DEFAULT_JVM_OPTIONS, hostIds);
    }

    public SimHostConfig config(String hostId) {
        SimHostConfig c = SimHostConfig.of(hostId, root.resolve(hostId), vendorDir).withDiagnostics(diagnostics)
                .withMemoryDir(memoryDir);
        return c.withJvmOptions(jvmOptions);
    }

    /** Starts (or attaches to) the host's hypervisor process. */
    public SimBackend boot(String hostId) throws HypervisorException {
        SimBackend b = SimBackend.attachOrStart(config(hostId));
        hosts.put(hostId, b);
        // asked once now: a crash must not depend on the hypervisor still answering calls
        pids.put(hostId, b.hypervisorPid());
        return b;
    }

    /** A new agent connection to a running hypervisor (what an agent does after it restarted). */
    public SimBackend reattach(String hostId) throws HypervisorException {
        SimBackend old = hosts.get(hostId);
        SimBackend b = SimBackend.attach(config(hostId).socket());
        hosts.put(hostId, b);
        if (old != null) {
            old.close();
        }
        return b;
    }

    public SimBackend host(String hostId) {
        SimBackend b = hosts.get(hostId);
        if (b == null) {
            throw new IllegalArgumentException("no host " + hostId + " in this cluster; hosts: " + hosts.keySet());
        }
        return b;
    }

    /** The hosts whose hypervisor is up (booted and not crashed). */
    public List<SimBackend> running() {
        return List.copyOf(hosts.values());
    }

    /** The host's hypervisor process (for CPU accounting and crash tests). */
    public long pid(String hostId) {
        Long p = pids.get(hostId);
        if (p == null) {
            throw new IllegalArgumentException("host " + hostId + " is not up");
        }
        return p;
    }

    public boolean isUp(String hostId) {
        return hosts.containsKey(hostId);
    }

    public Path stateDir(String hostId) {
        return config(hostId).stateDir();
    }

    public ClusterCa ca() {
        return ca;
    }

    /**
     * Installs trust, AK certificate and policy again on a host whose sealed state was lost (a test deleted it):
     * what an operator does to bring such a host back into the cluster.
     */
    public void reenroll(String hostId) throws Exception {
        enroll(hostId);
        publishPolicy();
    }

    private void enroll(String hostId) throws Exception {
        SimBackend b = host(hostId);
        b.installClusterTrust(ca.trust().toPem().getBytes(StandardCharsets.US_ASCII));
        AkEnrollment e = AkEnrollment.fromPem(new String(b.createEnrollmentRequest(), StandardCharsets.US_ASCII));
        X509Certificate ak = ca.issueAkCertificate(e, Instant.now(), Duration.ofDays(20));
        b.installAttestationCertificate(Certificates.encodeChain(List.of(ak, ca.certificate())));
    }

    /** A new policy (next serial) admitting every host's measurement and any host receiving any VM. */
    public void publishPolicy() throws Exception {
        publishPolicyTo(hosts.keySet().toArray(String[]::new));
    }

    /** Like {@link #publishPolicy()}, but installed only on {@code hostIds} (the others keep the older one). */
    public void publishPolicyTo(String... hostIds) throws Exception {
        policySerial++;
        Policy.Builder p = Policy.builder("engine-policy", policySerial)
                .validity(Instant.now().minusSeconds(3600), Instant.now().plus(Duration.ofDays(1)))
                .allowSuite(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.name()).allowReceive("*", "*");
        for (SimBackend b : hosts.values()) {
            HostIdentity id = b.identity();
            p.allowMeasurement(id.measurement(), "sim " + id.hostId());
        }
        currentPolicy = p.build();
        byte[] signed = ca.signPolicy(currentPolicy).encoded();
        for (String h : hostIds) {
            host(h).installPolicy(signed);
        }
    }

    /**
     * An operator's fence for a migration whose peer host is lost for good: the CA signs it together with the next
     * policy, which revokes the lost host's AK (PROTOCOL.md: a trusted override outside G5). Returns {fence, policy}.
     */
    public byte[][] fence(byte[] migrationId, byte[] manifestDigest, byte[] lostAkFingerprint) {
        FenceBundle b = ca.issueFence(migrationId, manifestDigest, lostAkFingerprint, currentPolicy);
        currentPolicy = b.policy().unverifiedPolicy(); // signed by our own CA just now
        policySerial++;
        return new byte[][] {b.fence().encoded(), b.policy().encoded()};
    }

    /** Kills the whole host (SIGKILL of its hypervisor): domains are lost, sealed decisions stay on its disk. */
    public void crash(String hostId) throws HypervisorException {
        SimBackend b = hosts.remove(hostId);
        long pid = pids.remove(hostId);
        ProcessHandle.of(pid).ifPresent(SimCluster::kill);
        b.close();
    }

    /**
     * SIGKILL and wait until it is gone. The hypervisor runs detached from this JVM (it outlives agents), so
     * onExit() would poll with a long back-off; a short poll of isAlive() is enough here.
     */
    private static void kill(ProcessHandle h) {
        h.destroyForcibly();
        long until = System.nanoTime() + 10_000_000_000L;
        while (h.isAlive() && System.nanoTime() < until) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        for (String h : new ArrayList<>(hosts.keySet())) {
            try {
                crash(h);
            } catch (HypervisorException | RuntimeException e) {
                // already gone
            }
        }
        deleteTree(memoryDir);
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // temporary files; the caller's directory is removed with them
        }
    }
}
