package org.sealift.agent.tls;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;

/**
 * Opens agent-channel connections to other agents, one per migration (see {@link AgentChannelServer} for why). The
 * peer must present the agent TLS certificate of exactly the host we meant to reach.
 */
public final class AgentChannelClient {

    private final TlsCredentials agent;
    private final Clock clock;
    private final Duration handshakeTimeout;

    public AgentChannelClient(TlsCredentials agent, Clock clock, Duration handshakeTimeout) {
        this.agent = agent;
        this.clock = clock;
        this.handshakeTimeout = handshakeTimeout;
    }

    /**
     * Connects, authenticates both ends and exchanges the preamble.
     *
     * @param expectedHost the host id the peer's certificate must carry
     * @param label        what the connection is for, shown in the peer's log (e.g. the migration handle)
     * @throws ChannelException naming who refused what, and what to check
     */
    public ChannelConnection connect(InetSocketAddress address, String expectedHost, String label)
            throws ChannelException, TlsSetupException {
        ChannelPreamble.checkLabel(label);
        SSLContext ctx = SealiftTls.agentChannelClient(agent, expectedHost, clock);
        String where = "agent " + expectedHost + " at " + address.getHostString() + ":" + address.getPort();
        SSLSocket s = null;
        boolean handshaken = false;
        try {
            s = (SSLSocket) ctx.getSocketFactory().createSocket();
            s.setSSLParameters(SealiftTls.parameters(ctx, false));
            s.setTcpNoDelay(true);
            s.connect(address, (int) handshakeTimeout.toMillis());
            s.setSoTimeout((int) handshakeTimeout.toMillis());
            s.startHandshake();
            handshaken = true;
            ChannelPreamble.writeHello(s.getOutputStream(), label);
            String refusal = ChannelPreamble.readReply(s.getInputStream());
            if (refusal != null) {
                throw new ChannelException(where + " refused the channel for '" + label + "': " + refusal);
            }
            s.setSoTimeout(0);
            PeerIdentity peer = PeerIdentity.of(s.getSession())
                    .orElseThrow(() -> new SSLException("peer identity missing after the handshake"));
            ChannelConnection c = new ChannelConnection(s, peer, label);
            s = null;
            return c;
        } catch (ChannelException e) {
            throw e;
        } catch (SSLException e) {
            PeerRefusedException ours = findRefusal(e);
            if (ours != null) {
                throw new ChannelException("refused " + where + ": " + ours.getMessage(), ours);
            }
            if (handshaken) {
                // TLS 1.3: our certificate is judged after our side of the handshake is done, so its refusal
                // arrives as an alert on the first read
                throw new ChannelException(where + " refused this agent's TLS certificate " + agent.name()
                        + " (" + e.getMessage() + "); its log says why. Check that tls.cert is this host's agent"
                        + " certificate from this cluster's CA and that it has not expired", e);
            }
            throw new ChannelException("TLS handshake with " + where + " failed: " + e.getMessage()
                    + "; check that the address is a Sealift agent channel of this cluster", e);
        } catch (SocketTimeoutException e) {
            throw new ChannelException(where + " did not complete the channel setup within "
                    + handshakeTimeout.toMillis() + " ms; check that the address is an agent channel port", e);
        } catch (IOException e) {
            throw new ChannelException("cannot open the agent channel to " + where + ": " + e.getMessage()
                    + "; check that the agent runs and that channel.address/channel.port are reachable", e);
        } finally {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException e) {
                    // already failing
                }
            }
        }
    }

    private static PeerRefusedException findRefusal(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PeerRefusedException p) {
                return p;
            }
        }
        return null;
    }
}
