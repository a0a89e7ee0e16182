package org.sealift.agent.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.protocol.handshake.Suite;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.VendorRoot;

/**
 * Simulated hosts for tests: each host's hypervisor is a real process (started through {@link SimBackend}), the
 * vendor root lives in its own directory, the cluster CA in the test, and every host is enrolled the way an operator
 * would do it: install the cluster trust, carry the endorsed CSR to the CA, install the AK certificate and a policy
 * that admits the hosts' measurement.
 */
final class SimTestCluster implements AutoCloseable {

    final Path root;
    final Path vendorDir;
    final Path memoryDir;
    final ClusterCa ca;
    final boolean diagnostics;
    private final Map<String, SimHostConfig> configs = new LinkedHashMap<>();
    private final Map<String, SimBackend> backends = new LinkedHashMap<>();
    private long policySerial;
    /** The policy every host runs with now. */
    Policy policy;

    private SimTestCluster(Path root, boolean diagnostics) throws IOException {
        this.root = root;
        this.vendorDir = root.resolve("vendor");
        this.memoryDir = root.resolve("shm");
        this.diagnostics = diagnostics;
        this.ca = ClusterCa.create("test-cluster", Instant.now().minusSeconds(3600), Duration.ofDays(30));
    }

    /** Starts and enrolls {@code hostIds}. */
    static SimTestCluster start(Path root, boolean diagnostics, String... hostIds) throws Exception {
        SimTestCluster c = new SimTestCluster(root, diagnostics);
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

    SimHostConfig config(String hostId) {
        return configs.computeIfAbsent(hostId, h -> SimHostConfig.of(h, root.resolve(h), vendorDir)
                .withDiagnostics(diagnostics).withMemoryDir(memoryDir));
    }

    SimBackend boot(String hostId) throws HypervisorException {
        SimBackend b = SimBackend.attachOrStart(config(hostId));
        backends.put(hostId, b);
        return b;
    }

    SimBackend host(String hostId) {
        return backends.get(hostId);
    }

    Path stateDir(String hostId) {
        return config(hostId).stateDir();
    }

    private void enroll(String hostId) throws Exception {
        SimBackend b = host(hostId);
        b.installClusterTrust(ca.trust().toPem().getBytes(StandardCharsets.US_ASCII));
        AkEnrollment e = AkEnrollment.fromPem(new String(b.createEnrollmentRequest(), StandardCharsets.US_ASCII));
        X509Certificate ak = ca.issueAkCertificate(e, Instant.now(), Duration.ofDays(20));
        b.installAttestationCertificate(Certificates.encodeChain(List.of(ak, ca.certificate())));
    }

    /** A new policy (next serial) admitting every host's measurement and any host receiving any VM. */
    void publishPolicy() throws Exception {
        policySerial++;
        Policy.Builder p = Policy.builder("test-policy", policySerial)
                .validity(Instant.now().minusSeconds(3600), Instant.now().plus(Duration.ofDays(1)))
                .allowSuite(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.name()).allowReceive("*", "*");
        for (SimBackend b : backends.values()) {
            HostIdentity id = b.identity();
            p.allowMeasurement(id.measurement(), "sim " + id.hostId());
        }
        policy = p.build();
        byte[] signed = ca.signPolicy(policy).encoded();
        for (SimBackend b : backends.values()) {
            b.installPolicy(signed);
        }
    }

    /** Crashes the whole simulated host (SIGKILL of its hypervisor): domains are lost, sealed decisions stay. */
    void crash(String hostId) throws HypervisorException {
        SimBackend b = backends.remove(hostId);
        long pid = b.hypervisorPid();
        b.close();
        ProcessHandle.of(pid).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().join();
        });
    }

    @Override
    public void close() {
        for (SimBackend b : backends.values()) {
            try {
                long pid = b.hypervisorPid();
                b.close();
                ProcessHandle.of(pid).ifPresent(h -> {
                    h.destroyForcibly();
                    h.onExit().join();
                });
            } catch (HypervisorException e) {
                // already gone
            }
        }
        backends.clear();
        deleteTree(memoryDir);
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // temp files; JUnit removes the rest
        }
    }
}
