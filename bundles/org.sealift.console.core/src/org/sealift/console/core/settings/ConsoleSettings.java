package org.sealift.console.core.settings;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.sealift.console.core.inventory.AgentRef;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

/**
 * What the console is configured with (Preferences): the agents to connect to, the operator's client certificate
 * and key for mutual TLS, the cluster trust anchor and policy for verifying attestations, where AK certificates
 * are, and the default migration options. Immutable; file paths may be null (not set).
 *
 * @param agents              agents to show in the inventory
 * @param operatorCertificate the operator's client certificate (PEM), issued by the cluster CA
 * @param operatorKey         the operator's private key (PEM)
 * @param trustAnchor         cluster-trust.pem: cluster CA + policy-signing certificate
 * @param policy              the signed cluster policy (PEM "SEALIFT POLICY")
 * @param akCertificates      a PEM file or a folder of PEM files with the hosts' AK certificates
 * @param defaults            the options the migration wizard starts with
 */
public record ConsoleSettings(List<AgentRef> agents, Path operatorCertificate, Path operatorKey, Path trustAnchor,
        Path policy, Path akCertificates, MigrationOptions defaults) {

    public static final ConsoleSettings DEFAULTS = new ConsoleSettings(List.of(), null, null, null, null, null,
            MigrationOptions.defaults(MigrationMode.SECURE));

    public ConsoleSettings {
        agents = List.copyOf(agents);
        if (defaults == null) {
            defaults = MigrationOptions.defaults(MigrationMode.SECURE);
        }
    }

    /**
     * Problems that make parts of the console unusable, each naming the setting and the fix. Empty when every set
     * file exists and the agent list is consistent. Unset files are not problems (the features that need them say
     * so when used).
     */
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<URI> addresses = new HashSet<>();
        for (AgentRef a : agents) {
            if (!names.add(a.name())) {
                out.add("agent " + a.name() + " is listed twice: each host appears once; remove one entry");
            }
            if (!addresses.add(a.address())) {
                out.add("address " + a.address() + " is listed for two agents: remove one entry");
            }
        }
        checkFile(out, "operator certificate", operatorCertificate, "the client certificate issued with"
                + " 'sealift ca enroll --operator'");
        checkFile(out, "operator key", operatorKey, "the key that belongs to the operator certificate");
        if ((operatorCertificate == null) != (operatorKey == null)) {
            out.add("the operator certificate and key go together: set both or neither");
        }
        checkFile(out, "trust anchor", trustAnchor, "cluster-trust.pem from 'sealift ca init'");
        checkFile(out, "policy", policy, "the signed policy from 'sealift ca sign-policy'");
        if (akCertificates != null && !Files.exists(akCertificates)) {
            out.add("AK certificates " + akCertificates + " do not exist: choose a PEM file or a folder of PEM files"
                    + " with the hosts' AK certificates");
        }
        return out;
    }

    private static void checkFile(List<String> out, String what, Path p, String hint) {
        if (p != null && !Files.isRegularFile(p)) {
            out.add(what + " " + p + " is not a file: choose " + hint);
        }
    }

    // ---- properties form (console.properties) ---------------------------------------------------------------

    public Properties toProperties() {
        Properties p = new Properties();
        for (int i = 0; i < agents.size(); i++) {
            p.setProperty("agent." + (i + 1) + ".name", agents.get(i).name());
            p.setProperty("agent." + (i + 1) + ".address", agents.get(i).address().toString());
        }
        put(p, "operator.certificate", operatorCertificate);
        put(p, "operator.key", operatorKey);
        put(p, "trust.anchor", trustAnchor);
        put(p, "trust.policy", policy);
        put(p, "trust.akCertificates", akCertificates);
        p.setProperty("defaults.mode", defaults.mode().toString());
        p.setProperty("defaults.maxRounds", Integer.toString(defaults.maxRounds()));
        p.setProperty("defaults.downtimeTargetMs", Integer.toString(defaults.downtimeTargetMs()));
        p.setProperty("defaults.bandwidthMiBps", Integer.toString(defaults.bandwidthMiBps()));
        return p;
    }

    private static void put(Properties p, String key, Path v) {
        if (v != null) {
            p.setProperty(key, v.toString());
        }
    }

    /**
     * Reads the properties form. Every problem is collected (a file with three mistakes names all three); the
     * exception message lists them one per line.
     */
    public static ConsoleSettings fromProperties(Properties p, String origin) throws SettingsException {
        List<String> errors = new ArrayList<>();
        List<AgentRef> agents = new ArrayList<>();
        TreeSet<Integer> numbers = new TreeSet<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("agent.")) {
                String[] parts = key.split("\\.");
                if (parts.length != 3 || !parts[2].equals("name") && !parts[2].equals("address")) {
                    errors.add(key + ": unknown setting; agents are agent.<n>.name and agent.<n>.address");
                    continue;
                }
                try {
                    numbers.add(Integer.parseInt(parts[1]));
                } catch (NumberFormatException e) {
                    errors.add(key + ": '" + parts[1] + "' is not an agent number; use agent.1.name, agent.2.name, …");
                }
            }
        }
        for (int n : numbers) {
            String name = p.getProperty("agent." + n + ".name");
            String address = p.getProperty("agent." + n + ".address");
            if (name == null) {
                errors.add("agent." + n + ".address is set but agent." + n + ".name is missing: name the host");
                continue;
            }
            try {
                agents.add(AgentRef.parse(name, address));
            } catch (IllegalArgumentException e) {
                errors.add("agent." + n + ": " + e.getMessage());
            }
        }
        MigrationMode mode = MigrationMode.SECURE;
        String modeText = p.getProperty("defaults.mode");
        if (modeText != null) {
            try {
                mode = MigrationMode.parse(modeText);
            } catch (IllegalArgumentException e) {
                errors.add("defaults.mode: " + e.getMessage());
            }
        }
        MigrationOptions base = MigrationOptions.defaults(mode);
        int rounds = intValue(p, "defaults.maxRounds", base.maxRounds(), errors);
        int downtime = intValue(p, "defaults.downtimeTargetMs", base.downtimeTargetMs(), errors);
        int bandwidth = intValue(p, "defaults.bandwidthMiBps", base.bandwidthMiBps(), errors);
        MigrationOptions options = base;
        try {
            options = base.withMaxRounds(rounds).withDowntimeTargetMs(downtime).withBandwidthMiBps(bandwidth);
        } catch (IllegalArgumentException e) {
            errors.add("defaults: " + e.getMessage());
        }
        if (!errors.isEmpty()) {
            throw new SettingsException("console settings " + origin + " have " + errors.size() + " problem"
                    + (errors.size() == 1 ? "" : "s") + ":\n  " + String.join("\n  ", errors), errors);
        }
        return new ConsoleSettings(agents, path(p, "operator.certificate"), path(p, "operator.key"),
                path(p, "trust.anchor"), path(p, "trust.policy"), path(p, "trust.akCertificates"), options);
    }

    private static Path path(Properties p, String key) {
        String v = p.getProperty(key);
        return v == null || v.isBlank() ? null : Path.of(v.trim());
    }

    private static int intValue(Properties p, String key, int fallback, List<String> errors) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            errors.add(key + ": '" + v + "' is not a whole number");
            return fallback;
        }
    }

    public ConsoleSettings withAgents(List<AgentRef> list) {
        return new ConsoleSettings(list, operatorCertificate, operatorKey, trustAnchor, policy, akCertificates,
                defaults);
    }

    public ConsoleSettings withTrust(Path anchor, Path policyFile, Path aks) {
        return new ConsoleSettings(agents, operatorCertificate, operatorKey, anchor, policyFile, aks, defaults);
    }

    public ConsoleSettings withOperator(Path certificate, Path key) {
        return new ConsoleSettings(agents, certificate, key, trustAnchor, policy, akCertificates, defaults);
    }

    public ConsoleSettings withDefaults(MigrationOptions options) {
        return new ConsoleSettings(agents, operatorCertificate, operatorKey, trustAnchor, policy, akCertificates,
                options);
    }

    /** "secure, 30 rounds, 300 ms, no bandwidth limit". */
    public static String describe(MigrationOptions o) {
        return o.mode().toString().toLowerCase(Locale.ROOT) + ", " + o.maxRounds() + " rounds max, downtime target "
                + o.downtimeTargetMs() + " ms, " + (o.bandwidthMiBps() == 0 ? "no bandwidth limit"
                        : "bandwidth limit " + o.bandwidthMiBps() + " MiB/s");
    }
}
