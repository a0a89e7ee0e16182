package org.sealift.agent.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The validated settings of one agent daemon (docs/agent-config.md describes every key). Built only by
 * {@link ConfigLoader}, so an instance is always complete and consistent.
 */
public record AgentConfig(
        String hostId,
        Backend backend,
        Path dataDir,
        Path credentialsDir,
        Path tlsCert,
        Path tlsKey,
        Path tlsCa,
        InetAddress apiAddress,
        int apiPort,
        long apiMaxBodyBytes,
        Duration apiIdleTimeout,
        int apiMaxThreads,
        InetAddress channelAddress,
        int channelPort,
        Duration channelHandshakeTimeout,
        int channelMaxConnections,
        boolean allowFaultInjection,
        String logLevel,
        Map<String, String> backendSettings,
        Map<String, InetSocketAddress> peers,
        Path peersFile,
        MigrationTimes migration) {

    /**
     * Deadlines and waits of migrations run by this agent (PROTOCOL.md G4 defaults).
     *
     * @param handshake            the attested handshake
     * @param precopySilence       no progress on the stream while the VM still runs
     * @param pausedWithoutRelease VM paused at the source and no RELEASE yet
     * @param readyDeadline        destination after READY without RELEASE or ABORT (also told to its hypervisor)
     * @param attestWait           how long a destination waits for the source's attestation proposal before it
     *                             logs its own record alone
     * @param resolveInterval      how often migrations in doubt are retried with their peer
     */
    public record MigrationTimes(Duration handshake, Duration precopySilence, Duration pausedWithoutRelease,
            Duration readyDeadline, Duration attestWait, Duration resolveInterval) {
    }

    /** Which hypervisor the agent drives. */
    public enum Backend {
        /** The simulated hypervisor process (labs, tests, benchmarks). */
        SIM,
        /** Xen through the native shim. */
        XEN;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public AgentConfig {
        backendSettings = Map.copyOf(backendSettings);
        peers = Map.copyOf(peers);
    }

    /** The settings as "key = value" lines, for the startup log (paths and addresses only, no secrets exist here). */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        out.add("host.id = " + hostId);
        out.add("backend = " + backend.label());
        out.add("data.dir = " + dataDir);
        out.add("credentials.dir = " + credentialsDir);
        out.add("tls.cert = " + tlsCert);
        out.add("tls.key = " + tlsKey);
        out.add("tls.ca = " + tlsCa);
        out.add("api = " + apiAddress.getHostAddress() + ":" + apiPort + " (max body " + apiMaxBodyBytes
                + " bytes, idle timeout " + apiIdleTimeout.toMillis() + " ms, " + apiMaxThreads + " threads)");
        out.add("channel = " + channelAddress.getHostAddress() + ":" + channelPort + " (handshake timeout "
                + channelHandshakeTimeout.toMillis() + " ms, max " + channelMaxConnections + " connections)");
        out.add("allow-fault-injection = " + allowFaultInjection);
        out.add("log.level = " + logLevel);
        out.add("migration deadlines = handshake " + migration.handshake().toMillis() + " ms, silence "
                + migration.precopySilence().toMillis() + " ms, paused " + migration.pausedWithoutRelease().toMillis()
                + " ms, after READY " + migration.readyDeadline().toMillis() + " ms");
        peers.forEach((k, v) -> out.add("peer." + k + " = " + v.getHostString() + ":" + v.getPort()));
        if (peersFile != null) {
            out.add("peers.file = " + peersFile);
        }
        backendSettings.forEach((k, v) -> out.add(k + " = " + v));
        return out;
    }
}
