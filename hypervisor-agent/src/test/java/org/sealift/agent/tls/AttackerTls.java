package org.sealift.agent.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Set;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

import org.sealift.protocol.pki.Role;

/** TLS client contexts an attacker would build, so that tests can show the server is the one refusing. */
public final class AttackerTls {

    private AttackerTls() {
    }

    /**
     * Presents {@code creds} whatever CA the server asks for (an honest JSSE client would then send no certificate
     * at all) and trusts servers of {@code trustedCa} with role {@code serverRole}, so that only the server refuses.
     */
    public static SSLContext presenting(TlsCredentials creds, X509Certificate trustedCa, Role serverRole)
            throws Exception {
        X509ExtendedKeyManager stubborn = new X509ExtendedKeyManager() {
            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                return "k";
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return "k";
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return creds.chain().toArray(new X509Certificate[0]);
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return creds.privateKey();
            }

            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {"k"};
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }
        };
        SSLContext ctx = SSLContext.getInstance(SealiftTls.PROTOCOL);
        ctx.init(new KeyManager[] {stubborn}, new TrustManager[] {trusting(trustedCa, serverRole)}, null);
        return ctx;
    }

    /** A context with no client certificate at all. */
    public static SSLContext withoutCertificate(X509Certificate trustedCa, Role serverRole) throws Exception {
        SSLContext ctx = SSLContext.getInstance(SealiftTls.PROTOCOL);
        ctx.init(null, new TrustManager[] {trusting(trustedCa, serverRole)}, null);
        return ctx;
    }

    private static ClusterTrustManager trusting(X509Certificate ca, Role serverRole) {
        return new ClusterTrustManager(ca, Set.of(serverRole), "attacker", null, Clock.systemUTC(), null);
    }
}
