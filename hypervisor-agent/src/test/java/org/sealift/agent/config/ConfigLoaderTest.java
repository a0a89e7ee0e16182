package org.sealift.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir
    Path tmp;

    private Path file(String... lines) throws Exception {
        Path f = tmp.resolve("etc").resolve("agent.conf");
        Files.createDirectories(f.getParent());
        Files.write(f, List.of(lines));
        return f;
    }

    private static ConfigLoader.Setting flag(String value, String flag) {
        return new ConfigLoader.Setting(value, flag, Path.of("/work"));
    }

    @Test
    void aFileSetsEverythingAndRelativePathsAreRelativeToIt() throws Exception {
        Path f = file("# lab host", "host.id = h1", "backend=sim", "data.dir = state", "",
                "api.address = 127.0.0.1", "api.port = 0", "channel.port = 7500", "api.max-body-bytes = 65536",
                "allow-fault-injection = true", "sim.memory-mib = 4096", "xen.domctl = ignored-for-sim");
        AgentConfig c = ConfigLoader.load(f, Map.of());
        assertEquals("h1", c.hostId());
        assertEquals(AgentConfig.Backend.SIM, c.backend());
        Path dataDir = tmp.resolve("etc").resolve("state");
        assertEquals(dataDir, c.dataDir());
        assertEquals(dataDir.resolve("credentials/agent-tls.crt"), c.tlsCert());
        assertEquals(dataDir.resolve("credentials/agent-tls.key"), c.tlsKey());
        assertEquals(dataDir.resolve("credentials/cluster-trust.pem"), c.tlsCa());
        assertEquals(InetAddress.getByName("127.0.0.1"), c.apiAddress());
        assertEquals(0, c.apiPort());
        assertEquals(7500, c.channelPort());
        assertEquals(InetAddress.getByName("0.0.0.0"), c.channelAddress());
        assertEquals(65536, c.apiMaxBodyBytes());
        assertEquals(Duration.ofSeconds(30), c.apiIdleTimeout());
        assertTrue(c.allowFaultInjection());
        assertEquals(Map.of("sim.memory-mib", "4096"), c.backendSettings(), "only the selected backend's keys");
    }

    @Test
    void flagsOverrideTheFile() throws Exception {
        Path f = file("host.id = h1", "api.port = 7443", "credentials.dir = /etc/sealift/credentials");
        AgentConfig c = ConfigLoader.load(f, Map.of("api.port", flag("9443", "--api-port"),
                "tls.key", flag("/secure/agent.key", "--tls-key")));
        assertEquals(9443, c.apiPort());
        assertEquals(Path.of("/secure/agent.key"), c.tlsKey());
        assertEquals(Path.of("/etc/sealift/credentials/agent-tls.crt"), c.tlsCert());
        assertFalse(c.allowFaultInjection(), "fault injection is off unless asked for");
    }

    @Test
    void everyProblemIsReportedAtOnceWithWhereItCameFrom() throws Exception {
        Path f = file("host.id = h 1", "api.prot = 7443", "channel.port = 70000", "backend = kvm",
                "log.level = loud", "api.idle-timeout-ms = 5", "just words", "channel.port = 1");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(f, Map.of("allow-fault-injection", flag("yes", "--set allow-fault-injection=yes"))));
        String m = e.getMessage();
        assertTrue(m.startsWith("agent configuration has 9 problems:"), m);
        assertTrue(m.contains(f + ":1: host.id 'h 1' is invalid"), m);
        assertTrue(m.contains(f + ":2: unknown key 'api.prot'; did you mean 'api.port'?"), m);
        assertTrue(m.contains(f + ":3: channel.port is '70000'; use a whole number from 0 to 65535"), m);
        assertTrue(m.contains(f + ":4: backend 'kvm' is unknown; use sim (simulated hypervisor) or xen"), m);
        assertTrue(m.contains(f + ":5: log.level 'loud' is unknown"), m);
        assertTrue(m.contains(f + ":6: api.idle-timeout-ms is '5'; use a whole number from 1000"), m);
        assertTrue(m.contains(f + ":7: 'just words' is not a 'key = value' line"), m);
        assertTrue(m.contains(f + ":8: channel.port is set again (first at " + f + ":3)"), m);
        assertTrue(m.contains("--set allow-fault-injection=yes: allow-fault-injection is 'yes'; use true or false"),
                m);
    }

    @Test
    void theHostIdIsRequired() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of()));
        assertEquals(List.of("host.id is not set; set it to this host's id (the --host ID it was enrolled with),"
                + " with --host-id or in the configuration file"), e.problems());
    }

    @Test
    void theApiAndTheChannelNeedTheirOwnPorts() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of(
                "host.id", flag("h1", "--host-id"), "api.port", flag("7000", "--api-port"),
                "channel.port", flag("7000", "--channel-port"))));
        assertTrue(e.getMessage().contains("api.port and channel.port are both 7000"), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = tmp.resolve("nope.conf");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(missing, Map.of()));
        assertTrue(e.getMessage().contains("configuration file " + missing + " does not exist"), e.getMessage());
    }

    @Test
    void anUnknownFlagKeyIsRefusedToo() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of(
                "host.id", flag("h1", "--host-id"), "chanel.port", flag("1", "--set chanel.port=1"))));
        assertTrue(e.getMessage().contains("--set chanel.port=1: unknown key 'chanel.port'; did you mean"
                + " 'channel.port'?"), e.getMessage());
    }

    @Test
    void theShippedExampleIsValid() throws Exception {
        AgentConfig c = ConfigLoader.load(Path.of("src/main/dist/agent.conf.example"), Map.of());
        assertEquals("h1", c.hostId());
        assertEquals(7443, c.apiPort());
        assertEquals(Path.of("/var/lib/sealift/credentials/agent-tls.key"), c.tlsKey());
    }

    @Test
    void everyKeyIsDocumented() throws Exception {
        Path doc = Path.of("..", "docs", "agent-config.md");
        if (!Files.exists(doc)) {
            doc = Path.of("docs", "agent-config.md");
        }
        String text = Files.readString(doc);
        for (ConfigLoader.Key k : ConfigLoader.KEYS) {
            assertTrue(text.contains("`" + k.name() + "`"), "docs/agent-config.md does not document " + k.name());
        }
    }

    @Test
    void peersAndMigrationDeadlinesAreReadAndCheckedTogether() throws Exception {
        Path f = file("host.id = h1", "peer.h2 = 10.1.0.12:7444", "peer.h3 = [::1]:7500", "peers.file = peers.conf",
                "migration.paused-deadline-ms = 2500", "migration.resolve-interval-ms = 500");
        AgentConfig c = ConfigLoader.load(f, Map.of());
        assertEquals(new java.net.InetSocketAddress(InetAddress.getByName("10.1.0.12"), 7444), c.peers().get("h2"));
        assertEquals(7500, c.peers().get("h3").getPort());
        assertEquals(tmp.resolve("etc").resolve("peers.conf"), c.peersFile());
        assertEquals(Duration.ofMillis(2500), c.migration().pausedWithoutRelease());
        assertEquals(Duration.ofSeconds(30), c.migration().readyDeadline(), "G4 default");
        assertEquals(Duration.ofMillis(500), c.migration().resolveInterval());

        Path bad = file("host.id = h1", "peer.h2 = 10.1.0.12", "peer.bad/id = 10.0.0.1:1", "peer.h3 = h:99999",
                "migration.ready-deadline-ms = 0");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(bad, Map.of()));
        String m = e.getMessage();
        assertTrue(m.contains("agent.conf:2: peer.h2: '10.1.0.12' is not ADDRESS:PORT"), m);
        assertTrue(m.contains("'peer.bad/id' names host 'bad/id', which is not a valid host id"), m);
        assertTrue(m.contains("port 99999 in 'h:99999' is out of range"), m);
        assertTrue(m.contains("migration.ready-deadline-ms is '0'"), m);
    }
}
