package org.sealift.agent.config;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.sealift.protocol.pki.Certificates;

/**
 * Reads the agent configuration: a file of {@code key = value} lines (see docs/agent-config.md) overridden by
 * command-line flags, then validates everything and reports all problems at once, each with where it came from.
 * The format is deliberately tiny (no quoting, no includes, no variables): what is in the file is what is used.
 */
public final class ConfigLoader {

    /** Every key with its default ("" = required, null = derived from another key) and one line of help. */
    public record Key(String name, String defaultValue, String help) {
    }

    public static final List<Key> KEYS = List.of(
            new Key("host.id", "", "this host's id, as in its certificates (required)"),
            new Key("backend", "sim", "hypervisor backend: sim or xen"),
            new Key("data.dir", "/var/lib/sealift", "state directory of the agent"),
            new Key("credentials.dir", null, "directory of the files from 'sealift ca enroll --host' (default"
                    + " <data.dir>/credentials)"),
            new Key("tls.cert", null, "agent TLS certificate (default <credentials.dir>/agent-tls.crt)"),
            new Key("tls.key", null, "agent TLS private key, owner-only (default <credentials.dir>/agent-tls.key)"),
            new Key("tls.ca", null, "cluster CA or cluster trust file (default <credentials.dir>/cluster-trust.pem)"),
            new Key("api.address", "0.0.0.0", "address of the management API"),
            new Key("api.port", "7443", "port of the management API (0 = any free port)"),
            new Key("api.max-body-bytes", "1048576", "largest request body the API reads"),
            new Key("api.idle-timeout-ms", "30000", "API connections idle or stalled this long are closed"),
            new Key("api.max-threads", "32", "threads serving the API"),
            new Key("channel.address", "0.0.0.0", "address of the agent channel (migrations from other agents)"),
            new Key("channel.port", "7444", "port of the agent channel (0 = any free port)"),
            new Key("channel.handshake-timeout-ms", "10000", "TLS handshake and channel preamble deadline"),
            new Key("channel.max-connections", "64", "channel connections (migrations) carried at once"),
            new Key("allow-fault-injection", "false", "lab only: accept --inject attacks on migrations"),
            new Key("log.level", "info", "error, warn, info, debug or trace"),
            new Key("peers.file", null, "a file of 'ID = ADDRESS:PORT' lines naming other agents' channels, read"
                    + " at each use (labs write it; default none)"),
            new Key("migration.handshake-deadline-ms", "10000", "deadline of the attested handshake"),
            new Key("migration.silence-deadline-ms", "30000", "no stream progress during pre-copy this long aborts"),
            new Key("migration.paused-deadline-ms", "5000", "VM paused at the source without RELEASE this long"
                    + " aborts"),
            new Key("migration.ready-deadline-ms", "30000", "destination after READY without RELEASE or ABORT"
                    + " this long aborts and zeroizes"),
            new Key("migration.attest-wait-ms", "60000", "a destination waits this long for the source's"
                    + " attestation proposal before it logs its own record alone"),
            new Key("migration.resolve-interval-ms", "10000", "how often migrations in doubt are retried with"
                    + " their peer"));

    /** Keys {@code peer.ID = ADDRESS:PORT}: where the agent channel of host ID listens. */
    public static final String PEER_PREFIX = "peer.";

    /** Keys under these prefixes are settings of that backend, passed to it as they are. */
    public static final List<String> BACKEND_PREFIXES = List.of("sim.", "xen.");

    /** A value and where it came from ("agent.conf:12", "--api-port"), with the directory relative paths use. */
    public record Setting(String value, String origin, Path baseDir) {
    }

    private ConfigLoader() {
    }

    /**
     * @param file      the configuration file, or null for flags and defaults only
     * @param overrides settings from flags (origin = the flag), applied over the file
     */
    public static AgentConfig load(Path file, Map<String, Setting> overrides) throws ConfigException {
        List<String> problems = new ArrayList<>();
        Map<String, Setting> settings = new LinkedHashMap<>();
        if (file != null) {
            settings.putAll(parseFile(file, problems));
        }
        for (Map.Entry<String, Setting> e : overrides.entrySet()) {
            if (!isKnown(e.getKey())) {
                problems.add(unknownKey(e.getKey(), e.getValue().origin()));
            } else {
                settings.put(e.getKey(), e.getValue());
            }
        }
        AgentConfig config = validate(settings, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    /** Parses the file format; problems are collected, not thrown, so that all of them are reported at once. */
    static Map<String, Setting> parseFile(Path file, List<String> problems) throws ConfigException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException(List.of("configuration file " + file + " does not exist; create it (see"
                    + " docs/agent-config.md) or fix the --config path"));
        } catch (IOException e) {
            throw new ConfigException(List.of("cannot read configuration file " + file + ": " + e.getMessage()));
        }
        Path base = file.toAbsolutePath().getParent();
        Map<String, Setting> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String origin = file + ":" + (i + 1);
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                problems.add(origin + ": '" + line + "' is not a 'key = value' line; comment lines start with #");
                continue;
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (!isKnown(key)) {
                problems.add(unknownKey(key, origin));
                continue;
            }
            if (value.isEmpty()) {
                problems.add(origin + ": " + key + " has no value; give one or remove the line to use the default");
                continue;
            }
            Setting previous = out.get(key);
            if (previous != null) {
                problems.add(origin + ": " + key + " is set again (first at " + previous.origin()
                        + "); keep one of them");
                continue;
            }
            out.put(key, new Setting(value, origin, base));
        }
        return out;
    }

    private static boolean isKnown(String key) {
        if (KEYS.stream().anyMatch(k -> k.name().equals(key))) {
            return true;
        }
        if (key.startsWith(PEER_PREFIX) && key.length() > PEER_PREFIX.length()) {
            return true;
        }
        return BACKEND_PREFIXES.stream().anyMatch(p -> key.startsWith(p) && key.length() > p.length());
    }

    /**
     * Parses a peer's channel address "ADDRESS:PORT" (an IPv6 address in brackets).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static InetSocketAddress peerAddress(String value) {
        String v = value.strip();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1) {
            throw new IllegalArgumentException("'" + value + "' is not ADDRESS:PORT");
        }
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' has no port number after the last ':'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " in '" + value + "' is out of range 1-65535");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + host + "' in '" + value + "' is not an address or a known name");
        }
    }

    private static String unknownKey(String key, String origin) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Key k : KEYS) {
            int d = distance(key, k.name());
            if (d < bestDistance) {
                bestDistance = d;
                best = k.name();
            }
        }
        String hint = bestDistance <= 3 ? "did you mean '" + best + "'?" : "the keys are listed in docs/agent-config.md";
        return origin + ": unknown key '" + key + "'; " + hint;
    }

    private static AgentConfig validate(Map<String, Setting> s, List<String> problems) {
        String hostId = get(s, "host.id");
        if (hostId.isEmpty()) {
            problems.add("host.id is not set; set it to this host's id (the --host ID it was enrolled with), with"
                    + " --host-id or in the configuration file");
        } else if (!Certificates.isValidHostId(hostId)) {
            problems.add(origin(s, "host.id") + ": host.id '" + hostId + "' is invalid: use 1-63 letters, digits,"
                    + " '.', '_' or '-', starting with a letter or digit");
        }
        AgentConfig.Backend backend = AgentConfig.Backend.SIM;
        String b = get(s, "backend").toLowerCase(Locale.ROOT);
        switch (b) {
            case "sim" -> backend = AgentConfig.Backend.SIM;
            case "xen" -> backend = AgentConfig.Backend.XEN;
            default -> problems.add(origin(s, "backend") + ": backend '" + b + "' is unknown; use sim (simulated"
                    + " hypervisor) or xen");
        }
        Path dataDir = path(s, "data.dir");
        Path credentials = s.containsKey("credentials.dir") ? path(s, "credentials.dir")
                : dataDir.resolve("credentials");
        Path tlsCert = s.containsKey("tls.cert") ? path(s, "tls.cert") : credentials.resolve("agent-tls.crt");
        Path tlsKey = s.containsKey("tls.key") ? path(s, "tls.key") : credentials.resolve("agent-tls.key");
        Path tlsCa = s.containsKey("tls.ca") ? path(s, "tls.ca") : credentials.resolve("cluster-trust.pem");

        InetAddress apiAddress = address(s, "api.address", problems);
        int apiPort = (int) number(s, "api.port", 0, 65535, problems);
        long maxBody = number(s, "api.max-body-bytes", 1024, 64L * 1024 * 1024, problems);
        long idle = number(s, "api.idle-timeout-ms", 1000, 3_600_000, problems);
        int threads = (int) number(s, "api.max-threads", 4, 1000, problems);
        InetAddress channelAddress = address(s, "channel.address", problems);
        int channelPort = (int) number(s, "channel.port", 0, 65535, problems);
        long handshake = number(s, "channel.handshake-timeout-ms", 100, 600_000, problems);
        int maxConn = (int) number(s, "channel.max-connections", 1, 10_000, problems);
        if (apiPort != 0 && apiPort == channelPort && apiAddress != null && apiAddress.equals(channelAddress)) {
            problems.add("api.port and channel.port are both " + apiPort + " on " + apiAddress.getHostAddress()
                    + "; give them different ports");
        }
        boolean faults = bool(s, "allow-fault-injection", problems);
        String level = get(s, "log.level").toLowerCase(Locale.ROOT);
        if (!List.of("error", "warn", "info", "debug", "trace").contains(level)) {
            problems.add(origin(s, "log.level") + ": log.level '" + level + "' is unknown; use error, warn, info,"
                    + " debug or trace");
        }
        Map<String, InetSocketAddress> peers = new TreeMap<>();
        s.forEach((k, v) -> {
            if (!k.startsWith(PEER_PREFIX)) {
                return;
            }
            String id = k.substring(PEER_PREFIX.length());
            if (!Certificates.isValidHostId(id)) {
                problems.add(v.origin() + ": '" + k + "' names host '" + id + "', which is not a valid host id");
                return;
            }
            try {
                peers.put(id, peerAddress(v.value()));
            } catch (IllegalArgumentException e) {
                problems.add(v.origin() + ": " + k + ": " + e.getMessage() + "; give the peer's channel.address and"
                        + " channel.port, e.g. 10.1.0.12:7444");
            }
        });
        Path peersFile = s.containsKey("peers.file") ? path(s, "peers.file") : null;
        AgentConfig.MigrationTimes times = new AgentConfig.MigrationTimes(
                Duration.ofMillis(number(s, "migration.handshake-deadline-ms", 100, 600_000, problems)),
                Duration.ofMillis(number(s, "migration.silence-deadline-ms", 100, 3_600_000, problems)),
                Duration.ofMillis(number(s, "migration.paused-deadline-ms", 100, 600_000, problems)),
                Duration.ofMillis(number(s, "migration.ready-deadline-ms", 100, 3_600_000, problems)),
                Duration.ofMillis(number(s, "migration.attest-wait-ms", 100, 3_600_000, problems)),
                Duration.ofMillis(number(s, "migration.resolve-interval-ms", 100, 3_600_000, problems)));
        Map<String, String> backendSettings = new TreeMap<>();
        String prefix = backend.label() + ".";
        s.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                backendSettings.put(k, v.value());
            }
        });
        if (!problems.isEmpty()) {
            return null;
        }
        return new AgentConfig(hostId, backend, dataDir, credentials, tlsCert, tlsKey, tlsCa, apiAddress, apiPort,
                maxBody, Duration.ofMillis(idle), threads, channelAddress, channelPort, Duration.ofMillis(handshake),
                maxConn, faults, level, backendSettings, peers, peersFile, times);
    }

    private static String get(Map<String, Setting> s, String key) {
        Setting v = s.get(key);
        if (v != null) {
            return v.value();
        }
        return KEYS.stream().filter(k -> k.name().equals(key)).findFirst().map(Key::defaultValue).orElse("");
    }

    private static String origin(Map<String, Setting> s, String key) {
        Setting v = s.get(key);
        return v == null ? "default" : v.origin();
    }

    /** Relative paths are relative to the file they are written in (flags: the working directory). */
    private static Path path(Map<String, Setting> s, String key) {
        Setting v = s.get(key);
        if (v == null) {
            return Path.of(get(s, key));
        }
        Path p = Path.of(v.value());
        return p.isAbsolute() || v.baseDir() == null ? p.toAbsolutePath().normalize()
                : v.baseDir().resolve(p).normalize();
    }

    private static long number(Map<String, Setting> s, String key, long min, long max, List<String> problems) {
        String v = get(s, key);
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add(origin(s, key) + ": " + key + " is '" + v + "'; use a whole number from " + min + " to "
                    + max);
            return min;
        }
    }

    private static boolean bool(Map<String, Setting> s, String key, List<String> problems) {
        String v = get(s, key).toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            problems.add(origin(s, key) + ": " + key + " is '" + v + "'; use true or false");
        }
        return v.equals("true");
    }

    private static InetAddress address(Map<String, Setting> s, String key, List<String> problems) {
        String v = get(s, key);
        try {
            return InetAddress.getByName(v);
        } catch (UnknownHostException e) {
            problems.add(origin(s, key) + ": " + key + " '" + v + "' is not an IP address or a known host name;"
                    + " use an address of this host, 127.0.0.1 or 0.0.0.0");
            return null;
        }
    }

    /** Levenshtein distance, for "did you mean". */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
