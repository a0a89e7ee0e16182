package org.sealift.console.core.settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.sealift.console.core.inventory.AgentRef;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What a running lab ({@code sealift lab}) wrote to {@code lab.json} in its folder: the agents' API addresses, the
 * lab operator's client certificate and key, the cluster trust file, the policy and each host's AK certificate.
 * The console uses it when {@code SEALIFT_LAB_DIR} names a lab folder and no agents are configured in Preferences,
 * which is how {@code ./sealift lab} starts the console.
 *
 * @param dir            the lab folder
 * @param agents         one per host, in the lab's order (rogue hosts included: the inventory shows them)
 * @param operatorCert   the lab operator's client certificate (PEM)
 * @param operatorKey    its private key (PEM)
 * @param clusterCa      the lab CA certificate (PEM)
 * @param trust          cluster-trust.pem (CA + policy signer)
 * @param policy         the current signed policy
 * @param akCertificates each host's AK certificate file
 */
public record LabConnection(Path dir, List<AgentRef> agents, Path operatorCert, Path operatorKey, Path clusterCa,
        Path trust, Path policy, List<Path> akCertificates) {

    public static final String FILE = "lab.json";
    /** Environment variable naming the lab folder (as the sealift script and the agent's lab command use it). */
    public static final String ENV = "SEALIFT_LAB_DIR";
    /** System property that wins over {@link #ENV} (tests, launch configurations). */
    public static final String PROPERTY = "sealift.lab.dir";

    public LabConnection {
        Objects.requireNonNull(dir, "dir");
        agents = List.copyOf(agents);
        akCertificates = List.copyOf(akCertificates);
    }

    /** The lab folder named by {@link #PROPERTY} or {@link #ENV}, if any. */
    public static Optional<Path> configuredDir(Map<String, String> env) {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank()) {
            p = env.get(ENV);
        }
        return p == null || p.isBlank() ? Optional.empty() : Optional.of(Path.of(p.trim()).toAbsolutePath());
    }

    /** The lab in the configured folder, if the folder has a readable lab.json. */
    public static Optional<LabConnection> find(Map<String, String> env) {
        return configuredDir(env).flatMap(d -> {
            try {
                return Files.isRegularFile(d.resolve(FILE)) ? Optional.of(read(d)) : Optional.empty();
            } catch (SettingsException e) {
                return Optional.empty();
            }
        });
    }

    /** Reads {@code dir/lab.json}, with a message naming the file and the fix when it cannot. */
    public static LabConnection read(Path dir) throws SettingsException {
        Path f = dir.resolve(FILE);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(f));
        } catch (IOException e) {
            throw new SettingsException("cannot read the lab description " + f + ": " + e.getMessage()
                    + "; start the lab with './sealift lab' (it writes " + FILE + " once the lab is ready)", e);
        }
        JsonNode op = root.path("operator");
        List<AgentRef> agents = new ArrayList<>();
        List<Path> aks = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (JsonNode a : root.path("agents")) {
            try {
                agents.add(AgentRef.parse(a.path("host").asText(null), a.path("api").asText(null)));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
            String ak = a.path("akCertificate").asText("");
            if (!ak.isEmpty()) {
                aks.add(Path.of(ak));
            }
        }
        String cert = op.path("cert").asText("");
        String key = op.path("key").asText("");
        String ca = op.path("ca").asText("");
        if (agents.isEmpty() && problems.isEmpty()) {
            problems.add("it lists no agents");
        }
        if (cert.isEmpty() || key.isEmpty() || ca.isEmpty()) {
            problems.add("the operator's certificate, key or CA is missing");
        }
        if (!problems.isEmpty()) {
            throw new SettingsException("the lab description " + f + " is not usable: " + String.join("; ", problems)
                    + "; restart the lab with './sealift lab'", problems);
        }
        String trust = root.path("trust").asText("");
        String policy = root.path("policy").asText("");
        return new LabConnection(dir, agents, Path.of(cert), Path.of(key), Path.of(ca),
                trust.isEmpty() ? null : Path.of(trust), policy.isEmpty() ? null : Path.of(policy), aks);
    }

    /** The folder the lab keeps its hosts in: AK certificates are found below it. */
    public Path hostsDir() {
        return dir.resolve("hosts");
    }

    /**
     * {@code settings} with the lab filling what they leave unset: the agents (only when none are configured), the
     * operator's certificate and key, the trust anchor, policy and AK certificates.
     */
    public ConsoleSettings fill(ConsoleSettings settings) {
        if (!settings.agents().isEmpty()) {
            return settings; // agents of one's own: the lab is not used
        }
        // the lab is a cluster of its own: its agents go with its operator identity, trust anchor, policy and AK
        // certificates; trust material saved for another cluster (or left behind by a test) could only fail to
        // connect to them. The migration defaults stay the person's.
        return settings.withAgents(agents).withOperator(operatorCert, operatorKey).withTrust(trust, policy,
                hostsDir());
    }

    @Override
    public String toString() {
        return "lab in " + dir + " (" + agents.size() + " agents)";
    }
}
