package org.sealift.agent.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;


import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.pki.Role;

/** The agent-to-agent channel over real TLS sockets on 127.0.0.1, attacked with the wrong certificates. */
class AgentChannelTest {

    private static final Duration HANDSHAKE = Duration.ofSeconds(10);

    private final TestCluster cluster = new TestCluster("test-cluster");
    private final BlockingQueue<PeerRefusedException> refusals = new LinkedBlockingQueue<>();
    private final AtomicInteger handled = new AtomicInteger();
    private AgentChannelServer server;
    private TlsCredentials h1;

    @BeforeEach
    void start() throws Exception {
        h1 = cluster.agent("h1");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void startH2(ChannelHandler handler) throws Exception {
        server = AgentChannelServer.start(cluster.agent("h2"), InetAddress.getLoopbackAddress(), 0, handler,
                HANDSHAKE, 8, cluster.clock, refusals::add);
    }

    private InetSocketAddress h2Address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
    }

    /** Reads the stream to its end, answers with its SHA-256: proves every byte arrived in order. */
    private final class DigestingHandler implements ChannelHandler {
        final Map<String, String> peers = new ConcurrentHashMap<>();
        final CountDownLatch bothOpen;

        DigestingHandler(int expected) {
            bothOpen = new CountDownLatch(expected);
        }

        @Override
        public void handle(ChannelConnection c) throws Exception {
            handled.incrementAndGet();
            peers.put(c.label(), c.peer().describe());
            bothOpen.countDown();
            // both migrations must be open at the same time, or this test would not show concurrency
            assertTrue(bothOpen.await(30, TimeUnit.SECONDS), "second channel never opened");
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[64 * 1024];
            InputStream in = c.in();
            for (int n; (n = in.read(buf)) >= 0;) {
                md.update(buf, 0, n);
            }
            OutputStream out = c.out();
            out.write(md.digest());
            out.close();
        }
    }

    private static byte[] send(ChannelConnection c, long seed, int bytes) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Random r = new Random(seed);
        byte[] block = new byte[48 * 1024 + 7]; // odd size: record boundaries must not matter
        OutputStream out = c.out();
        for (int sent = 0; sent < bytes;) {
            r.nextBytes(block);
            int n = Math.min(block.length, bytes - sent);
            out.write(block, 0, n);
            md.update(block, 0, n);
            sent += n;
        }
        out.close(); // half-close: the peer reads to the end and still answers
        byte[] answer = c.in().readNBytes(32);
        assertEquals(-1, c.in().read(), "the peer sends nothing after its digest");
        assertArrayEquals(md.digest(), answer, "the peer received different bytes on '" + c.label() + "'");
        return answer;
    }

    @Test
    void twoConcurrentMigrationsTravelIntactOnTheirOwnConnections() throws Exception {
        DigestingHandler handler = new DigestingHandler(2);
        startH2(handler);
        AgentChannelClient client = new AgentChannelClient(h1, cluster.clock, HANDSHAKE);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<byte[]> a = pool.submit(() -> {
                try (ChannelConnection c = client.connect(h2Address(), "h2", "migration-a")) {
                    assertEquals("agent h2", c.peer().describe());
                    return send(c, 1, 6 * 1024 * 1024 + 13);
                }
            });
            Future<byte[]> b = pool.submit(() -> {
                try (ChannelConnection c = client.connect(h2Address(), "h2", "migration-b")) {
                    return send(c, 2, 5 * 1024 * 1024 + 1);
                }
            });
            assertNotNull(a.get(60, TimeUnit.SECONDS));
            assertNotNull(b.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertEquals(Map.of("migration-a", "agent h1", "migration-b", "agent h1"), handler.peers);
        assertTrue(refusals.isEmpty(), () -> "unexpected refusals: " + refusals);
    }

    /** Connects with any context (the attacker's), sends the preamble and waits for the reply. */
    private void attackerConnects(SSLContext ctx) throws IOException {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.setSSLParameters(SealiftTls.parameters(ctx, false));
            s.connect(h2Address(), 10_000);
            s.setSoTimeout(30_000);
            s.startHandshake();
            ChannelPreamble.writeHello(s.getOutputStream(), "attack");
            String refusal = ChannelPreamble.readReply(s.getInputStream());
            throw new AssertionError("the server answered the preamble (refusal: " + refusal + ")");
        }
    }

    private SSLContext clientPresenting(TlsCredentials creds) throws Exception {
        return AttackerTls.presenting(creds, cluster.ca.certificate(), Role.AGENT_TLS);
    }

    private PeerRefusedException serverRefusal() throws InterruptedException {
        PeerRefusedException e = refusals.poll(30, TimeUnit.SECONDS);
        assertNotNull(e, "the server did not report a refusal");
        return e;
    }

    @Test
    void anOperatorCertificateUsedAsAHostIsRefused() throws Exception {
        startH2(new DigestingHandler(1));
        assertThrows(IOException.class, () -> attackerConnects(clientPresenting(cluster.operator("alice"))));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.WRONG_ROLE, e.problem());
        assertTrue(e.getMessage().contains("CN=alice is an operator certificate"), e.getMessage());
        assertTrue(e.getMessage().contains("the agent channel accepts only an agent TLS certificate"), e.getMessage());
        assertTrue(e.getMessage().contains("sealift ca enroll --host"), e.getMessage());
        assertEquals(0, handled.get(), "a refused peer must never reach the handler");
    }

    @Test
    void anAgentOfAnotherClusterIsRefused() throws Exception {
        startH2(new DigestingHandler(1));
        TlsCredentials foreign = new TestCluster("other-cluster").agent("h1");
        assertThrows(IOException.class, () -> attackerConnects(clientPresenting(foreign)));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.FOREIGN_CA, e.problem());
        assertTrue(e.getMessage().contains("CN=other-cluster"), e.getMessage());
        assertTrue(e.getMessage().contains("not by this cluster's CA CN=test-cluster"), e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void anExpiredAgentCertificateIsRefused() throws Exception {
        startH2(new DigestingHandler(1));
        assertThrows(IOException.class, () -> attackerConnects(clientPresenting(cluster.expiredAgent("h1"))));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.EXPIRED, e.problem());
        assertTrue(e.getMessage().contains("expired at"), e.getMessage());
        assertTrue(e.getMessage().contains("sealift ca enroll --host h1"), e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void anAttestationKeyCertificateNeverAuthenticatesTls() throws Exception {
        startH2(new DigestingHandler(1));
        assertThrows(IOException.class, () -> attackerConnects(clientPresenting(cluster.attestationKey("h1"))));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.WRONG_ROLE, e.problem());
        assertTrue(e.getMessage().contains("attestation-key certificate"), e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        startH2(new DigestingHandler(1));
        SSLContext noCert = AttackerTls.withoutCertificate(cluster.ca.certificate(), Role.AGENT_TLS);
        assertThrows(IOException.class, () -> attackerConnects(noCert));
        assertEquals(0, handled.get());
    }

    @Test
    void theClientRefusesAServerOfAnotherCluster() throws Exception {
        TestCluster other = new TestCluster("other-cluster");
        server = AgentChannelServer.start(other.agent("h2"), InetAddress.getLoopbackAddress(), 0,
                new DigestingHandler(1), HANDSHAKE, 8, cluster.clock, refusals::add);
        ChannelException e = assertThrows(ChannelException.class,
                () -> new AgentChannelClient(h1, cluster.clock, HANDSHAKE).connect(h2Address(), "h2", "m"));
        assertTrue(e.getMessage().contains("refused agent h2 at"), e.getMessage());
        assertTrue(e.getMessage().contains("not by this cluster's CA CN=test-cluster"), e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void theClientRefusesAnotherHostThanTheOneItMeant() throws Exception {
        startH2(new DigestingHandler(1));
        ChannelException e = assertThrows(ChannelException.class,
                () -> new AgentChannelClient(h1, cluster.clock, HANDSHAKE).connect(h2Address(), "h3", "m"));
        assertTrue(e.getMessage().contains("expected h3 on the agent channel but the peer is agent h2"),
                e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void aRefusalByTheReceivingAgentReachesTheSenderWithItsReason() throws Exception {
        startH2(new ChannelHandler() {
            @Override
            public String refusal(PeerIdentity peer, String label) {
                return "host h2 is draining; migrate to another host";
            }

            @Override
            public void handle(ChannelConnection connection) {
                handled.incrementAndGet();
            }
        });
        ChannelException e = assertThrows(ChannelException.class,
                () -> new AgentChannelClient(h1, cluster.clock, HANDSHAKE).connect(h2Address(), "h2", "mig-9"));
        assertEquals("agent h2 at " + h2Address().getHostString() + ":" + server.port()
                + " refused the channel for 'mig-9': host h2 is draining; migrate to another host", e.getMessage());
        assertEquals(0, handled.get());
    }

    @Test
    void anAgentRefusesToStartWithAnOperatorCertificate() throws Exception {
        TlsSetupException e = assertThrows(TlsSetupException.class,
                () -> new AgentChannelClient(cluster.operator("alice"), cluster.clock, HANDSHAKE)
                        .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), "h2", "m"));
        assertTrue(e.getMessage().contains("is an operator certificate, but an agent TLS certificate is needed"),
                e.getMessage());
        assertEquals(List.of(), List.copyOf(refusals));
    }
}
