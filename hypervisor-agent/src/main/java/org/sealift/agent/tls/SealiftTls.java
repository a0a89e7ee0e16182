package org.sealift.agent.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Set;
import java.util.function.Consumer;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

import org.sealift.protocol.pki.Role;

/**
 * The TLS contexts of Sealift. All are TLS 1.3 only with mutual authentication, and trust the cluster CA and nothing
 * else (not the JDK's cacerts). Which certificates are accepted depends on the connection:
 *
 * <ul>
 * <li>agent channel (agent to agent): both sides present agent TLS certificates; an operator certificate, an
 * attestation-key certificate or anything from another CA is refused;</li>
 * <li>management API: the agent presents its agent TLS certificate; clients present operator certificates (another
 * agent's dom0 must not be able to drive this host);</li>
 * </ul>
 */
public final class SealiftTls {

    public static final String PROTOCOL = "TLSv1.3";

    public static final String AGENT_CHANNEL = "the agent channel";
    public static final String MANAGEMENT_API = "the management API";

    private SealiftTls() {
    }

    /** Server side of the agent channel: accepts any agent of the cluster. */
    public static SSLContext agentChannelServer(TlsCredentials agent, Clock clock,
            Consumer<PeerRefusedException> onRefusal) throws TlsSetupException {
        requireAgent(agent);
        return context(agent, new ClusterTrustManager(agent.clusterCa(), Set.of(Role.AGENT_TLS), AGENT_CHANNEL, null,
                clock, onRefusal));
    }

    /** Client side of the agent channel to host {@code expectedPeer} (null: any agent of the cluster). */
    public static SSLContext agentChannelClient(TlsCredentials agent, String expectedPeer, Clock clock)
            throws TlsSetupException {
        requireAgent(agent);
        return context(agent, new ClusterTrustManager(agent.clusterCa(), Set.of(Role.AGENT_TLS), AGENT_CHANNEL,
                expectedPeer, clock, null));
    }

    /** The agent's management API: operators only. */
    public static SSLContext managementApiServer(TlsCredentials agent, Clock clock,
            Consumer<PeerRefusedException> onRefusal) throws TlsSetupException {
        requireAgent(agent);
        return context(agent, new ClusterTrustManager(agent.clusterCa(), Set.of(Role.OPERATOR), MANAGEMENT_API, null,
                clock, onRefusal));
    }

    /** A CLI or console calling an agent's management API with an operator certificate. */
    public static SSLContext managementApiClient(TlsCredentials operator, String expectedAgent, Clock clock)
            throws TlsSetupException {
        operator.requireRole(Role.OPERATOR, "issue one with 'sealift ca enroll --operator NAME'");
        return context(operator, new ClusterTrustManager(operator.clusterCa(), Set.of(Role.AGENT_TLS), MANAGEMENT_API,
                expectedAgent, clock, null));
    }

    private static void requireAgent(TlsCredentials agent) throws TlsSetupException {
        agent.requireRole(Role.AGENT_TLS, "an agent needs its own TLS certificate from 'sealift ca enroll --host "
                + agent.name() + "'");
    }

    /** A TLS 1.3 context presenting {@code own} and verifying peers with {@code trust}. */
    public static SSLContext context(TlsCredentials own, ClusterTrustManager trust) throws TlsSetupException {
        try {
            char[] password = randomPassword();
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("sealift", own.privateKey(), password, own.chain().toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance(PROTOCOL);
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {trust}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new TlsSetupException("cannot build a TLS 1.3 context for " + own.name() + ": " + e.getMessage(), e);
        }
    }

    /** TLS 1.3 only; on servers the client certificate is required, not merely requested. */
    public static SSLParameters parameters(SSLContext ctx, boolean server) {
        SSLParameters p = ctx.getDefaultSSLParameters();
        p.setProtocols(new String[] {PROTOCOL});
        if (server) {
            p.setNeedClientAuth(true);
        }
        return p;
    }

    private static char[] randomPassword() {
        // the key store lives only in memory; the password merely satisfies the API
        SecureRandom r = new SecureRandom();
        char[] c = new char[24];
        for (int i = 0; i < c.length; i++) {
            c[i] = (char) ('a' + r.nextInt(26));
        }
        return c;
    }
}
