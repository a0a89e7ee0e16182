package org.sealift.agent.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.sealift.agent.config.AgentConfig;
import org.sealift.agent.daemon.BackendAttachment;
import org.sealift.agent.daemon.DaemonRoutes;
import org.sealift.agent.daemon.HostAgent;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.config.ConfigException;
import org.sealift.agent.config.ConfigLoader;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code sealift-agent agent}: runs the daemon until SIGTERM/SIGINT (systemd stop, Ctrl-C), then shuts down
 * gracefully. Settings come from {@code --config FILE} and flags (flags win); docs/agent-config.md lists them.
 * Once listening it prints one line to standard output, {@code ready host=h1 api=https://ADDR:PORT
 * channel=ADDR:PORT}, so that scripts using port 0 learn the ports. Exit codes: 0 stopped, 1 could not start,
 * 2 usage or configuration error.
 */
public final class AgentCommand {

    /** Flag → configuration key. */
    static final Map<String, String> FLAG_KEYS = Map.ofEntries(
            Map.entry("--host-id", "host.id"),
            Map.entry("--backend", "backend"),
            Map.entry("--data-dir", "data.dir"),
            Map.entry("--credentials-dir", "credentials.dir"),
            Map.entry("--tls-cert", "tls.cert"),
            Map.entry("--tls-key", "tls.key"),
            Map.entry("--tls-ca", "tls.ca"),
            Map.entry("--api-address", "api.address"),
            Map.entry("--api-port", "api.port"),
            Map.entry("--channel-address", "channel.address"),
            Map.entry("--channel-port", "channel.port"),
            Map.entry("--log-level", "log.level"),
            Map.entry("--peers-file", "peers.file"));

    private final PrintStream out;
    private final PrintStream err;
    private final Clock clock;

    public AgentCommand(PrintStream out, PrintStream err, Clock clock) {
        this.out = out;
        this.err = err;
        this.clock = clock;
    }

    static void usage(PrintStream out) {
        out.println("usage: sealift agent [--config FILE] [options]");
        out.println();
        out.println("  --config FILE            key = value settings (docs/agent-config.md); flags override them");
        out.println("  --host-id ID             this host's id, as enrolled ('sealift ca enroll --host ID')");
        out.println("  --backend sim|xen        hypervisor backend (default sim)");
        out.println("  --data-dir DIR           agent state (default /var/lib/sealift)");
        out.println("  --credentials-dir DIR    files from 'sealift ca enroll --host' (default DATA_DIR/credentials)");
        out.println("  --tls-cert FILE --tls-key FILE --tls-ca FILE   override single credential files");
        out.println("  --api-address ADDR --api-port N           management API (default 0.0.0.0:7443)");
        out.println("  --channel-address ADDR --channel-port N   agent channel (default 0.0.0.0:7444)");
        out.println("  --allow-fault-injection  lab only: accept attack injection on migrations");
        out.println("  --log-level LEVEL        error, warn, info (default), debug, trace");
        out.println("  --peer ID=ADDRESS:PORT   another agent's channel (repeatable; same as peer.ID in the file)");
        out.println("  --peers-file FILE        'ID = ADDRESS:PORT' lines of other agents, re-read at each use");
        out.println("  --set KEY=VALUE          any other configuration key");
        out.println("  --check                  validate the configuration and credentials, then exit");
        out.println("  --enrollment-request FILE  start or attach to the hypervisor, write its endorsed AK");
        out.println("                           enrollment request for 'sealift ca enroll --host ID --csr FILE', exit");
    }

    public int run(List<String> args) {
        if (args.contains("--help") || args.contains("help")) {
            usage(out);
            return CaCommand.EXIT_OK;
        }
        AgentConfig config;
        boolean check;
        Path enrollmentRequest;
        try {
            Set<String> valueFlags = new java.util.HashSet<>(FLAG_KEYS.keySet());
            valueFlags.add("--config");
            valueFlags.add("--set");
            valueFlags.add("--enrollment-request");
            valueFlags.add("--peer");
            Args a = new Args("sealift agent", args, valueFlags, Set.of("--allow-fault-injection", "--check"));
            a.expectPositionals(0, "");
            check = a.has("--check");
            enrollmentRequest = a.value("--enrollment-request").map(Path::of).orElse(null);
            Path cwd = Path.of("").toAbsolutePath();
            Map<String, ConfigLoader.Setting> overrides = new LinkedHashMap<>();
            for (String set : a.values("--set")) {
                int eq = set.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException("sealift agent: --set '" + set + "' must be KEY=VALUE");
                }
                overrides.put(set.substring(0, eq).strip(), new ConfigLoader.Setting(set.substring(eq + 1).strip(),
                        "--set " + set, cwd));
            }
            for (String peer : a.values("--peer")) {
                int eq = peer.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException("sealift agent: --peer '" + peer + "' must be ID=ADDRESS:PORT (the"
                            + " peer's agent channel)");
                }
                overrides.put(ConfigLoader.PEER_PREFIX + peer.substring(0, eq).strip(), new ConfigLoader.Setting(
                        peer.substring(eq + 1).strip(), "--peer " + peer, cwd));
            }
            for (Map.Entry<String, String> f : FLAG_KEYS.entrySet()) {
                if (a.has(f.getKey())) {
                    overrides.put(f.getValue(), new ConfigLoader.Setting(a.value(f.getKey()).orElseThrow(),
                            f.getKey(), cwd));
                }
            }
            if (a.has("--allow-fault-injection")) {
                overrides.put("allow-fault-injection", new ConfigLoader.Setting("true", "--allow-fault-injection",
                        cwd));
            }
            Path file = a.value("--config").map(Path::of).orElse(null);
            config = ConfigLoader.load(file, overrides);
        } catch (UsageException e) {
            err.println(e.getMessage());
            return CaCommand.EXIT_USAGE;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return CaCommand.EXIT_USAGE;
        }
        configureLogging(config.logLevel());
        if (check) {
            return check(config);
        }
        if (enrollmentRequest != null) {
            return writeEnrollmentRequest(config, enrollmentRequest);
        }
        return runUntilStopped(config);
    }

    /**
     * Starts (or attaches to) the host's hypervisor and writes its endorsed AK enrollment request for
     * 'sealift ca enroll --host ID --csr FILE'; the hypervisor keeps running.
     */
    private int writeEnrollmentRequest(AgentConfig config, Path file) {
        BackendAttachment b;
        try {
            b = BackendAttachment.open(config);
        } catch (HypervisorException | IllegalArgumentException e) {
            err.println("sealift agent: cannot reach the hypervisor of host " + config.hostId() + ": "
                    + e.getMessage());
            return CaCommand.EXIT_FAILED;
        }
        try {
            String pem = b.enrollmentRequest(config.credentialsDir());
            java.nio.file.Files.writeString(file, pem, java.nio.charset.StandardCharsets.US_ASCII);
            out.println("wrote the enrollment request of host " + config.hostId() + " to " + file);
            // a hypervisor without an AK (unpatched Xen) hands out its agent's dom0-held signer request instead
            boolean dom0 = pem.contains("dom0-held record signer");
            if (dom0) {
                out.println("this hypervisor cannot hold an attestation key: the request is for a dom0-held record"
                        + " signer, which is weaker (docs/protocol-attestation.md §2.2)");
            }
            out.println("next: sealift ca enroll --host " + config.hostId() + (dom0 ? " --dom0-signer" : "")
                    + " --csr " + file + " --out DIR, then copy DIR to " + config.credentialsDir());
            return CaCommand.EXIT_OK;
        } catch (HypervisorException | java.io.IOException e) {
            err.println("sealift agent: cannot write the enrollment request: " + e.getMessage());
            return CaCommand.EXIT_FAILED;
        } finally {
            b.close();
        }
    }

    private int check(AgentConfig config) {
        for (String line : config.describe()) {
            out.println(line);
        }
        try {
            TlsCredentials tls = AgentDaemon.loadCredentials(config, clock);
            out.println("credentials OK: agent TLS certificate of " + tls.name() + ", valid until "
                    + tls.leaf().getNotAfter().toInstant());
        } catch (TlsSetupException e) {
            err.println("sealift agent: " + e.getMessage());
            return CaCommand.EXIT_FAILED;
        }
        out.println("configuration OK");
        return CaCommand.EXIT_OK;
    }

    private int runUntilStopped(AgentConfig config) {
        Logger log = LoggerFactory.getLogger(AgentCommand.class);
        for (String line : config.describe()) {
            log.info("config: {}", line);
        }
        if (config.backend() == AgentConfig.Backend.XEN) {
            // On a machine that is not a Xen dom0 the fix is to boot into Xen, not to enroll: say so first.
            try {
                BackendAttachment.open(config).close();
            } catch (HypervisorException | IllegalArgumentException e) {
                err.println("sealift agent: " + e.getMessage());
                return CaCommand.EXIT_FAILED;
            }
        }
        AgentDaemon daemon;
        try {
            daemon = AgentDaemon.start(config, clock, (tls, events) -> {
                HostAgent host;
                try {
                    host = HostAgent.start(config, tls, events, clock);
                } catch (HypervisorException e) {
                    throw new java.io.IOException("cannot attach to the hypervisor: " + e.getMessage(), e);
                }
                return new AgentDaemon.Wiring(host, host, DaemonRoutes.create(host, events), host);
            });
        } catch (AgentDaemon.StartException e) {
            err.println("sealift agent: " + e.getMessage());
            return CaCommand.EXIT_FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("agent {} stopping (signal)", config.hostId());
            daemon.close();
            stopped.countDown();
        }, "sealift-shutdown"));
        out.println("ready host=" + config.hostId() + " api=https://" + config.apiAddress().getHostAddress() + ":"
                + daemon.apiPort() + " channel=" + config.channelAddress().getHostAddress() + ":"
                + daemon.channelPort());
        out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            daemon.close();
        }
        return CaCommand.EXIT_OK;
    }

    /**
     * slf4j-simple reads its settings when the first logger is made, so this must run before any daemon class
     * logs; a -D on the java command line still wins.
     */
    static void configureLogging(String level) {
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", level);
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
        // Jetty's own INFO lines (versions, start banners) add nothing for an operator
        setIfAbsent("org.slf4j.simpleLogger.log.org.eclipse.jetty", "warn");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
