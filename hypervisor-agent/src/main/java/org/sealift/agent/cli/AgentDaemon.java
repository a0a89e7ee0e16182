package org.sealift.agent.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.sealift.agent.api.AgentRoutes;
import org.sealift.agent.api.ApiServer;
import org.sealift.agent.api.EventHub;
import org.sealift.agent.api.HostInfo;
import org.sealift.agent.api.HostInfoSource;
import org.sealift.agent.api.Router;
import org.sealift.agent.config.AgentConfig;
import org.sealift.agent.tls.AgentChannelServer;
import org.sealift.agent.tls.ChannelConnection;
import org.sealift.agent.tls.ChannelHandler;
import org.sealift.agent.tls.PeerIdentity;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;
import org.sealift.protocol.pki.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running agent: the management API and the agent channel over the agent's TLS identity, with the data
 * directory locked so that two agents never share one host's state. The hypervisor backend and the engine plug in
 * through {@link HostInfoSource} and {@link ChannelHandler}; without them ({@link #unattached}) the daemon says so
 * in its health and refuses incoming migrations with that reason instead of pretending.
 */
public final class AgentDaemon implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AgentDaemon.class);

    /** The daemon could not start; the message names the problem and the fix. */
    public static final class StartException extends Exception {
        private static final long serialVersionUID = 1L;

        StartException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What the daemon serves, made once TLS and the event hub exist (the backend and engine plug in here). */
    public record Wiring(HostInfoSource host, ChannelHandler channel, Router router, AutoCloseable resource) {
    }

    /** Builds the {@link Wiring}; a failure is reported as a start failure with its message. */
    @FunctionalInterface
    public interface Attachment {
        Wiring attach(TlsCredentials tls, EventHub events) throws Exception;
    }

    private final AgentConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private AutoCloseable attached;
    private EventHub events;
    private ApiServer api;
    private AgentChannelServer channel;
    private boolean closed;

    private AgentDaemon(AgentConfig config) {
        this.config = config;
    }

    public static AgentDaemon start(AgentConfig config, Clock clock, HostInfoSource host, ChannelHandler handler)
            throws StartException {
        return start(config, clock, (tls, events) -> new Wiring(host, handler, AgentRoutes.create(host, events),
                null));
    }

    /**
     * Locks the data directory, loads the TLS identity, makes the event hub, attaches the backend through
     * {@code attachment}, then opens the management API and the agent channel.
     */
    public static AgentDaemon start(AgentConfig config, Clock clock, Attachment attachment) throws StartException {
        AgentDaemon d = new AgentDaemon(config);
        try {
            d.lockDataDir();
            TlsCredentials tls = loadCredentials(config, clock);
            Duration heartbeat = Duration.ofMillis(Math.min(15_000, config.apiIdleTimeout().toMillis() / 2));
            d.events = d.keep(new EventHub(heartbeat, 256));
            Wiring w;
            try {
                w = attachment.attach(tls, d.events);
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e.getMessage(), e);
            }
            d.attached = w.resource();
            ApiServer.Settings settings = new ApiServer.Settings(config.apiAddress(), config.apiPort(),
                    config.apiMaxBodyBytes(), config.apiIdleTimeout(), config.apiMaxThreads(), 1024);
            d.api = d.keep(ApiServer.start(tls, w.router(), settings, clock, null));
            d.channel = d.keep(AgentChannelServer.start(tls, config.channelAddress(), config.channelPort(),
                    w.channel(), config.channelHandshakeTimeout(), config.channelMaxConnections(), clock, null));
        } catch (TlsSetupException e) {
            d.close();
            throw new StartException("agent " + config.hostId() + " cannot use its TLS credentials: "
                    + e.getMessage(), e);
        } catch (IOException e) {
            d.close();
            throw new StartException("agent " + config.hostId() + " cannot start: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        LOG.info("agent {} started (backend {}, fault injection {})", config.hostId(), config.backend().label(),
                config.allowFaultInjection() ? "ALLOWED (lab only)" : "off");
        return d;
    }

    /** Loads and checks the agent's TLS identity against host.id; used by start and by 'agent --check'. */
    static TlsCredentials loadCredentials(AgentConfig config, Clock clock) throws TlsSetupException {
        TlsCredentials tls = TlsCredentials.load(config.tlsCert(), config.tlsKey(), config.tlsCa(), clock)
                .requireRole(Role.AGENT_TLS, "configure tls.cert with the agent-tls.crt from 'sealift ca enroll"
                        + " --host " + config.hostId() + "'");
        if (!tls.name().equals(config.hostId())) {
            throw new TlsSetupException("tls.cert " + config.tlsCert() + " is the certificate of host '"
                    + tls.name() + "', but host.id is '" + config.hostId() + "'; use this host's own credentials"
                    + " or fix host.id");
        }
        return tls;
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    private void lockDataDir() throws IOException {
        Path dir = config.dataDir();
        if (!Files.isDirectory(dir)) {
            try {
                if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectories(dir);
                }
            } catch (IOException e) {
                throw new IOException("cannot create data.dir " + dir + " (" + e.getMessage() + "); create it for"
                        + " the agent's user or set data.dir", e);
            }
        }
        FileChannel ch = FileChannel.open(dir.resolve("agent.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new IOException("another agent is running with data.dir " + dir + "; stop it first (systemctl"
                    + " stop sealift-agent) or give this one another data.dir");
        }
        FileLock held = lock;
        resources.add(() -> {
            held.release();
            ch.close();
        });
    }

    public int apiPort() {
        return api.port();
    }

    public int channelPort() {
        return channel.port();
    }

    /** Where the engine publishes round statistics, phases and outcomes for the event stream. */
    public EventHub events() {
        return events;
    }

    public AgentConfig config() {
        return config;
    }

    /** Ends event streams, stops the API (in-flight requests finish), closes the channel, releases the lock. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (attached != null) {
            // first: migrations in flight are cancelled while the channel can still carry their ABORT
            try {
                attached.close();
            } catch (Exception e) {
                LOG.warn("while stopping agent {}: {}", config.hostId(), e.getMessage());
            }
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                LOG.warn("while stopping agent {}: {}", config.hostId(), e.getMessage());
            }
        }
        if (api != null) {
            LOG.info("agent {} stopped", config.hostId());
        }
    }

    /** Host info and channel handler for a daemon that has no hypervisor backend and engine attached. */
    public static final class Unattached implements HostInfoSource, ChannelHandler {
        private final AgentConfig config;

        Unattached(AgentConfig config) {
            this.config = config;
        }

        private String reason() {
            return "no hypervisor backend is attached to this agent (backend '" + config.backend().label()
                    + "' is not wired into the daemon of this build)";
        }

        @Override
        public HostInfo hostInfo() {
            return new HostInfo(config.hostId(), config.backend().label(), null, false, null,
                    new HostInfo.Capacity(0, 0, 0, 0), new HostInfo.Health("down", List.of(reason()
                            + "; the host cannot report VMs or take part in migrations until it is")));
        }

        @Override
        public String refusal(PeerIdentity peer, String label) {
            return "host " + config.hostId() + " cannot receive migrations: " + reason();
        }

        @Override
        public void handle(ChannelConnection connection) {
            throw new IllegalStateException("refused connections are never handled");
        }
    }

    public static Unattached unattached(AgentConfig config) {
        return new Unattached(config);
    }
}
