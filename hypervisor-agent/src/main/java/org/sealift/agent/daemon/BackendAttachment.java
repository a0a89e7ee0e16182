package org.sealift.agent.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sealift.agent.config.AgentConfig;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.sim.SimHostConfig;
import org.sealift.agent.xen.XenBackend;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.SignedPolicy;

/**
 * The host's hypervisor as the daemon reaches it. For {@code backend = sim}: the simulated hypervisor process of this
 * host, started if it does not run yet (it then outlives the agent: an agent restart reattaches), configured by the
 * {@code sim.*} keys. After attaching, the host's credentials directory is installed into the hypervisor: cluster
 * trust (pinned on first install), the AK certificate from {@code ca enroll --host}, and the policy when it is
 * newer than the hypervisor's.
 */
public final class BackendAttachment {

    /** The {@code sim.*} keys the daemon understands. */
    static final Set<String> SIM_KEYS = Set.of("sim.state-dir", "sim.socket", "sim.hardware-dir", "sim.memory-dir",
            "sim.vendor-dir", "sim.diagnostics", "sim.start", "sim.memory-mib", "sim.vcpus");

    public static final String OLD_POLICY_FILE = "old-policy.pem";

    private final HypervisorBackend backend;
    private final Path stateDir;
    private final long capacityMiB;
    private final int capacityVcpus;

    private BackendAttachment(HypervisorBackend backend, Path stateDir, long capacityMiB, int capacityVcpus) {
        this.backend = backend;
        this.stateDir = stateDir;
        this.capacityMiB = capacityMiB;
        this.capacityVcpus = capacityVcpus;
    }

    /** Where the sim hypervisor of this agent lives (also what 'agent --enrollment-request' uses). */
    public static SimHostConfig simHost(AgentConfig config) {
        Map<String, String> s = config.backendSettings();
        List<String> unknown = new ArrayList<>();
        for (String k : s.keySet()) {
            if (!SIM_KEYS.contains(k)) {
                unknown.add(k);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown sim setting(s) " + unknown + "; the sim backend knows "
                    + new java.util.TreeSet<>(SIM_KEYS) + " (docs/agent-config.md)");
        }
        Path stateDir = path(config, "sim.state-dir").orElse(config.dataDir().resolve("hypervisor"));
        Path socket = path(config, "sim.socket").orElse(stateDir.resolve("hypervisor.sock"));
        boolean diagnostics = bool(s, "sim.diagnostics", false);
        return new SimHostConfig(config.hostId(), stateDir, socket, path(config, "sim.hardware-dir"),
                path(config, "sim.memory-dir"), path(config, "sim.vendor-dir"), diagnostics,
                SimHostConfig.DEFAULT_JVM_OPTIONS, java.time.Duration.ofSeconds(60));
    }

    private static Optional<Path> path(AgentConfig config, String key) {
        String v = config.backendSettings().get(key);
        if (v == null) {
            return Optional.empty();
        }
        Path p = Path.of(v);
        return Optional.of(p.isAbsolute() ? p : config.dataDir().resolve(p).normalize());
    }

    private static boolean bool(Map<String, String> s, String key, boolean def) {
        String v = s.get(key);
        if (v == null) {
            return def;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(key + " is '" + v + "'; use true or false");
        }
        return v.equals("true");
    }

    /**
     * Attaches to (or starts) the host's hypervisor.
     *
     * @throws HypervisorException     the hypervisor cannot be reached or started (message says why)
     * @throws IllegalArgumentException a backend setting is wrong
     */
    public static BackendAttachment open(AgentConfig config) throws HypervisorException {
        if (config.backend() == AgentConfig.Backend.XEN) {
            // Opening fails promptly, with "Xen privcmd interface not available: ..." and the fix, on a machine
            // that is not a Xen dom0; on an unpatched Xen the protocol calls that follow are refused with the reason.
            XenBackend xen = XenBackend.open(XenBackend.Options.fromSettings(config.backendSettings()));
            if (!xen.protectionSupported()) {
                // no AK can exist in this hypervisor: a dom0-held record signer may stand in, weaker and marked so
                xen.withDom0Signer(config.hostId(), config.dataDir(), config.credentialsDir());
            }
            return new BackendAttachment(xen, null, 16384, Runtime.getRuntime().availableProcessors());
        }
        SimHostConfig host = simHost(config);
        boolean start = bool(config.backendSettings(), "sim.start", true);
        SimBackend b = start ? SimBackend.attachOrStart(host) : SimBackend.attach(host.socket());
        if (!b.hostId().equals(config.hostId())) {
            String other = b.hostId();
            b.close();
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "the hypervisor on "
                    + host.socket() + " is host " + other + "'s, but this agent is " + config.hostId()
                    + "; point sim.socket at this host's hypervisor");
        }
        long mib = Long.parseLong(config.backendSettings().getOrDefault("sim.memory-mib", "16384"));
        int vcpus = Integer.parseInt(config.backendSettings().getOrDefault("sim.vcpus",
                String.valueOf(Math.max(8, Runtime.getRuntime().availableProcessors()))));
        return new BackendAttachment(b, host.stateDir(), mib, vcpus);
    }

    /** For tests and tools: an attachment over a backend already opened. */
    static BackendAttachment of(HypervisorBackend backend, Path stateDir) {
        return new BackendAttachment(backend, stateDir, 16384, 8);
    }

    public HypervisorBackend backend() {
        return backend;
    }

    /** The sealed-state file as dom0 sees it (sim), for the rollback-state lab attack. */
    Path sealedStateFile() {
        return stateDir == null ? null : stateDir.resolve("sealed-state.bin");
    }

    long capacityMiB() {
        return capacityMiB;
    }

    int capacityVcpus() {
        return capacityVcpus;
    }

    /** How often the hypervisor found its sealed state changed behind its back (sim only; -1 otherwise). */
    long tamperDetections() {
        try {
            return backend instanceof SimBackend s ? s.sealedStateTamperDetections() : -1;
        } catch (HypervisorException e) {
            return -1;
        }
    }

    /**
     * Installs the credentials directory into the hypervisor; returns problems (each naming the fix), empty if all
     * is in place. Never throws for a bad file: the daemon runs and reports it in its health.
     */
    List<String> provision(Path credentialsDir) {
        List<String> problems = new ArrayList<>();
        Path trust = credentialsDir.resolve("cluster-trust.pem");
        Path ak = credentialsDir.resolve("ak.crt");
        if (!Files.exists(ak) && Files.exists(credentialsDir.resolve("dom0-signer.crt"))) {
            ak = credentialsDir.resolve("dom0-signer.crt"); // 'ca enroll --dom0-signer' (unpatched Xen)
        }
        Path policy = credentialsDir.resolve("policy.pem");
        try {
            if (Files.exists(trust)) {
                backend.installClusterTrust(Files.readAllBytes(trust));
            }
            HostIdentity id = backend.identity();
            if (Files.exists(ak)) {
                List<byte[]> chain = Certificates.encodeChain(Certificates.read(ak));
                boolean same = id.attestationChain().size() == chain.size();
                for (int i = 0; same && i < chain.size(); i++) {
                    same = Arrays.equals(id.attestationChain().get(i), chain.get(i));
                }
                if (!same) {
                    backend.installAttestationCertificate(chain);
                }
            } else if (!id.enrolled()) {
                problems.add("the hypervisor of host " + id.hostId() + " is not enrolled: write its CSR with 'sealift"
                        + " agent --enrollment-request FILE', certify it with 'sealift ca enroll --host " + id.hostId()
                        + " --csr FILE' and copy the credentials to " + credentialsDir);
            }
            if (Files.exists(policy)) {
                SignedPolicy sp = SignedPolicy.load(policy);
                if (Long.compareUnsigned(sp.unverifiedPolicy().serial(), backend.identity().policySerial()) > 0) {
                    backend.installPolicy(sp.encoded());
                }
            }
        } catch (HypervisorException e) {
            problems.add("installing the credentials of " + credentialsDir + " into the hypervisor failed: "
                    + e.getMessage());
        } catch (IOException | ProtocolException e) {
            problems.add("cannot read the credentials in " + credentialsDir + ": " + e.getMessage());
        }
        return problems;
    }

    /** An older signed policy kept next to the credentials (labs: the old-policy attack replays it). */
    byte[] oldPolicy(Path credentialsDir) {
        Path f = credentialsDir.resolve(OLD_POLICY_FILE);
        try {
            return Files.exists(f) ? SignedPolicy.load(f).encoded() : null;
        } catch (IOException | ProtocolException e) {
            return null;
        }
    }

    /** The enrollment request (endorsed AK CSR) of the hypervisor, as the PEM text 'ca enroll --csr' reads. */
    public String enrollmentRequest(Path credentialsDir) throws HypervisorException, IOException {
        Path trust = credentialsDir.resolve("cluster-trust.pem");
        if (Files.exists(trust)) {
            backend.installClusterTrust(Files.readAllBytes(trust));
        }
        return new String(backend.createEnrollmentRequest(), StandardCharsets.US_ASCII);
    }

    public void close() {
        backend.close();
    }
}
