package org.sealift.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.api.HostInfo;
import org.sealift.agent.api.Json;
import org.sealift.agent.config.AgentConfig;
import org.sealift.agent.config.ConfigLoader;
import org.sealift.agent.tls.AgentChannelClient;
import org.sealift.agent.tls.ChannelException;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;

/** The daemon assembled from files written by 'sealift ca', on ephemeral loopback ports. */
class AgentDaemonTest {

    @TempDir
    Path tmp;

    private CaFixture ca;
    private Path h1Credentials;
    private Path operators;

    @BeforeEach
    void enroll() throws Exception {
        ca = new CaFixture(tmp).initialized("--measurement", "11".repeat(32));
        h1Credentials = ca.enrolledHost("h1", CaFixture.measurement(0x11));
        operators = ca.enrolledOperator("alice");
    }

    private Map<String, ConfigLoader.Setting> flags(String hostId, Path credentials, Path dataDir) {
        Path cwd = Path.of("").toAbsolutePath();
        return Map.of("host.id", new ConfigLoader.Setting(hostId, "--host-id", cwd),
                "credentials.dir", new ConfigLoader.Setting(credentials.toString(), "--credentials-dir", cwd),
                "data.dir", new ConfigLoader.Setting(dataDir.toString(), "--data-dir", cwd),
                "api.address", new ConfigLoader.Setting("127.0.0.1", "--api-address", cwd),
                "api.port", new ConfigLoader.Setting("0", "--api-port", cwd),
                "channel.address", new ConfigLoader.Setting("127.0.0.1", "--channel-address", cwd),
                "channel.port", new ConfigLoader.Setting("0", "--channel-port", cwd));
    }

    private HttpClient alice(String expectedAgent) throws Exception {
        TlsCredentials alice = TlsCredentials.load(operators.resolve("alice.crt"), operators.resolve("alice.key"),
                operators.resolve("ca.crt"), Clock.systemUTC());
        SSLContext ctx = SealiftTls.managementApiClient(alice, expectedAgent, Clock.systemUTC());
        return HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false)).build();
    }

    @Test
    void theDaemonServesItsHostAndStopsCleanly() throws Exception {
        AgentConfig config = ConfigLoader.load(null, flags("h1", h1Credentials, tmp.resolve("data-h1")));
        HostInfo info = new HostInfo("h1", "sim", "11".repeat(32), true, "policy 'lab' serial 1",
                new HostInfo.Capacity(8192, 4096, 4, 1), HostInfo.Health.ok());
        AgentDaemon.Unattached none = AgentDaemon.unattached(config);
        AgentDaemon d = AgentDaemon.start(config, Clock.systemUTC(), () -> info, none);
        int apiPort = d.apiPort();
        int channelPort = d.channelPort();
        try {
            HttpResponse<String> r = alice("h1").send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + apiPort + "/v1/host")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(info, Json.mapper().readValue(r.body(), HostInfo.class));

            // a second agent on the same data directory would corrupt the host's state: refused
            AgentConfig twin = ConfigLoader.load(null, flags("h1", h1Credentials, tmp.resolve("data-h1")));
            AgentDaemon.StartException e = assertThrows(AgentDaemon.StartException.class,
                    () -> AgentDaemon.start(twin, Clock.systemUTC(), () -> info, none));
            assertTrue(e.getMessage().contains("another agent is running with data.dir"), e.getMessage());
        } finally {
            d.close();
        }
        for (int port : new int[] {apiPort, channelPort}) {
            assertThrows(ConnectException.class, () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
                }
            }, "port " + port + " still open after close");
        }
        // the lock is released with the daemon
        AgentDaemon.start(ConfigLoader.load(null, flags("h1", h1Credentials, tmp.resolve("data-h1"))),
                Clock.systemUTC(), () -> info, none).close();
    }

    @Test
    void withoutABackendTheDaemonSaysSoAndRefusesMigrations() throws Exception {
        AgentConfig config = ConfigLoader.load(null, flags("h1", h1Credentials, tmp.resolve("data")));
        AgentDaemon.Unattached none = AgentDaemon.unattached(config);
        try (AgentDaemon d = AgentDaemon.start(config, Clock.systemUTC(), none, none)) {
            HttpResponse<String> r = alice("h1").send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + d.apiPort() + "/v1/host")).build(),
                    HttpResponse.BodyHandlers.ofString());
            HostInfo info = Json.mapper().readValue(r.body(), HostInfo.class);
            assertEquals("down", info.health().status());
            assertEquals(false, info.attested());
            assertTrue(info.health().problems().get(0).contains("no hypervisor backend is attached"));

            Path h2 = ca.enrolledHost("h2", CaFixture.measurement(0x11));
            TlsCredentials h2Tls = TlsCredentials.load(h2.resolve("agent-tls.crt"), h2.resolve("agent-tls.key"),
                    h2.resolve("cluster-trust.pem"), Clock.systemUTC());
            ChannelException e = assertThrows(ChannelException.class, () -> new AgentChannelClient(h2Tls,
                    Clock.systemUTC(), Duration.ofSeconds(10)).connect(new InetSocketAddress("127.0.0.1",
                            d.channelPort()), "h1", "migration-1"));
            assertTrue(e.getMessage().contains("host h1 cannot receive migrations: no hypervisor backend"),
                    e.getMessage());
        }
    }

    private int agent(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
        return new AgentCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Clock.systemUTC()).run(List.of(args));
    }

    @Test
    void checkValidatesConfigurationAndCredentials() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, agent(out, err, "--check", "--host-id", "h1", "--credentials-dir", h1Credentials.toString(),
                "--data-dir", tmp.resolve("d").toString()));
        String o = out.toString(StandardCharsets.UTF_8);
        assertTrue(o.contains("credentials OK: agent TLS certificate of h1"), o);
        assertTrue(o.endsWith("configuration OK\n"), o);

        // the credentials of another host
        err.reset();
        assertEquals(1, agent(out, err, "--check", "--host-id", "h9", "--credentials-dir", h1Credentials.toString(),
                "--data-dir", tmp.resolve("d").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is the certificate of host 'h1', but host.id is"
                + " 'h9'"), err.toString(StandardCharsets.UTF_8));

        // an operator certificate configured as the agent's
        err.reset();
        assertEquals(1, agent(out, err, "--check", "--host-id", "alice", "--tls-cert",
                operators.resolve("alice.crt").toString(), "--tls-key", operators.resolve("alice.key").toString(),
                "--tls-ca", operators.resolve("ca.crt").toString(), "--data-dir", tmp.resolve("d").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is an operator certificate, but an agent TLS"
                + " certificate is needed"), err.toString(StandardCharsets.UTF_8));

        // missing credentials
        err.reset();
        assertEquals(1, agent(out, err, "--check", "--host-id", "h1", "--data-dir", tmp.resolve("d").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("agent-tls.crt does not exist"),
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void configurationErrorsAreUsageErrors() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, agent(out, err, "--host-id", "h1", "--api-port", "http"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--api-port: api.port is 'http'"),
                err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, agent(out, err, "--host-id", "h1", "--apiport", "1"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option --apiport"),
                err.toString(StandardCharsets.UTF_8));
    }
}
