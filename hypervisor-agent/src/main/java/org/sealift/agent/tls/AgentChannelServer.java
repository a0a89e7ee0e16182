package org.sealift.agent.tls;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens for other agents: TLS 1.3, mutual authentication, agent TLS certificates of this cluster only.
 *
 * <p>Each migration gets its own TCP+TLS connection rather than being multiplexed over one. That is the simpler and
 * more robust choice: TCP gives every migration its own flow control, so a stalled or slow migration cannot block
 * the others behind it (head-of-line blocking); a failure or a deadline closes one socket and affects one migration;
 * there is no framing layer of our own to get wrong; and the engine gets a plain byte stream. The cost, one TLS
 * handshake per migration (about a millisecond with Ed25519 and X25519), is negligible next to a migration.
 */
public final class AgentChannelServer implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(AgentChannelServer.class);

    private final SSLServerSocket serverSocket;
    private final ChannelHandler handler;
    private final Duration handshakeTimeout;
    private final int maxConnections;
    private final ExecutorService workers;
    private final Set<ChannelConnection> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger active = new AtomicInteger();
    private final Thread acceptor;
    private volatile boolean closed;

    private AgentChannelServer(SSLServerSocket serverSocket, ChannelHandler handler, Duration handshakeTimeout,
            int maxConnections) {
        this.serverSocket = serverSocket;
        this.handler = handler;
        this.handshakeTimeout = handshakeTimeout;
        this.maxConnections = maxConnections;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "sealift-channel-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.acceptor = new Thread(this::acceptLoop, "sealift-channel-accept");
        this.acceptor.setDaemon(true);
    }

    /**
     * Binds and starts accepting. {@code port} 0 picks a free port ({@link #port()}).
     *
     * @param onRefusal told about every peer refused during the TLS handshake (also logged)
     */
    public static AgentChannelServer start(TlsCredentials agent, InetAddress bindAddress, int port,
            ChannelHandler handler, Duration handshakeTimeout, int maxConnections, Clock clock,
            Consumer<PeerRefusedException> onRefusal) throws IOException, TlsSetupException {
        SSLContext ctx = SealiftTls.agentChannelServer(agent, clock, onRefusal);
        SSLServerSocket ss = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
        try {
            ss.setReuseAddress(true);
            ss.setSSLParameters(SealiftTls.parameters(ctx, true));
            ss.bind(new InetSocketAddress(bindAddress, port), 64);
        } catch (IOException e) {
            ss.close();
            throw new IOException("cannot listen for the agent channel on " + bindAddress.getHostAddress() + ":" + port
                    + ": " + e.getMessage() + "; pick a free port (channel.port) or another address", e);
        }
        AgentChannelServer server = new AgentChannelServer(ss, handler, handshakeTimeout, maxConnections);
        server.acceptor.start();
        LOG.info("agent channel of {} listening on {}:{} (TLS 1.3, mutual authentication)", agent.name(),
                bindAddress.getHostAddress(), server.port());
        return server;
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(serverSocket.getInetAddress(), port());
    }

    /** Connections currently open (handed to the handler). */
    public int activeConnections() {
        return active.get();
    }

    private void acceptLoop() {
        while (!closed) {
            SSLSocket s;
            try {
                s = (SSLSocket) serverSocket.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.error("agent channel stopped accepting: {}", e.getMessage());
                }
                return;
            }
            try {
                workers.execute(() -> serve(s));
            } catch (RuntimeException e) { // executor shut down while closing
                closeQuietly(s);
            }
        }
    }

    private void serve(SSLSocket s) {
        String from = s.getInetAddress().getHostAddress() + ":" + s.getPort();
        ChannelConnection conn = null;
        boolean counted = false;
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) handshakeTimeout.toMillis());
            s.startHandshake();
            // TLS 1.3 lets the client finish before the server has judged the client certificate: reading the
            // preamble is where a refused client certificate surfaces on this side
            String label = ChannelPreamble.readHello(s.getInputStream());
            PeerIdentity peer = PeerIdentity.of(s.getSession())
                    .orElseThrow(() -> new SSLException("peer identity missing after the handshake"));
            String refusal;
            if (active.incrementAndGet() > maxConnections) {
                refusal = "this agent already carries " + maxConnections + " channel connections"
                        + " (channel.max-connections); retry when a migration has finished";
            } else {
                refusal = handler.refusal(peer, label);
            }
            counted = true;
            ChannelPreamble.writeReply(s.getOutputStream(), refusal);
            if (refusal != null) {
                LOG.warn("refused channel '{}' from {} ({}): {}", label, peer.describe(), from, refusal);
                return;
            }
            s.setSoTimeout(0); // from here on the engine's deadlines govern
            conn = new ChannelConnection(s, peer, label);
            open.add(conn);
            if (closed) {
                return;
            }
            LOG.info("channel '{}' opened by {} ({})", label, peer.describe(), from);
            handler.handle(conn);
        } catch (SSLException e) {
            if (refusedByUs(e)) {
                // the trust manager logged the reason; this adds where from
                LOG.warn("agent channel connection from {} refused during TLS setup", from);
            } else if (String.valueOf(e.getMessage()).contains("Empty client certificate chain")) {
                LOG.warn("agent channel connection from {} presented no client certificate; agents must connect with"
                        + " their agent TLS certificate (mutual TLS)", from);
            } else {
                LOG.warn("agent channel connection from {} failed during TLS setup: {}", from, e.getMessage());
            }
        } catch (IOException e) {
            if (conn == null) {
                LOG.warn("agent channel connection from {} ended during setup ({}); the peer may have refused this"
                        + " agent's certificate: see its log", from, e.getMessage());
            } else {
                LOG.warn("agent channel connection '{}' from {} failed: {}", conn.label(), from, e.getMessage());
            }
        } catch (Exception e) {
            LOG.error("agent channel handler failed for the connection from {}: {}", from, e.toString(), e);
        } finally {
            if (counted) {
                active.decrementAndGet();
            }
            if (conn != null) {
                open.remove(conn);
                conn.close();
            } else {
                closeQuietly(s);
            }
        }
    }

    private static boolean refusedByUs(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PeerRefusedException) {
                return true;
            }
        }
        return false;
    }

    /** Stops accepting, closes open connections (their migrations see the channel end) and waits briefly. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(serverSocket);
        for (ChannelConnection c : open) {
            c.close();
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("agent channel handlers still running after close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            acceptor.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
