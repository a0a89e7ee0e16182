package org.sealift.console.core.settings;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Supplier;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.Role;

/**
 * The console's side of the management API's mutual TLS (docs/api.md §1): it presents the operator's certificate and
 * trusts exactly the cluster CA, and of its certificates only the agent TLS certificate of the host it meant to
 * reach. Agents are identified by the host id in their certificate, not by address (labs and migration networks
 * use bare IPs), so the trust manager is an {@link X509ExtendedTrustManager}: JSSE then leaves endpoint
 * identification to it, and it checks the CN instead.
 */
public final class ConsoleTls {

    public static final String PROTOCOL = "TLSv1.3";

    /** The operator identity and the trust anchor, checked to fit together when loaded. */
    public record Operator(List<X509Certificate> chain, PrivateKey key, X509Certificate clusterCa) {

        public String name() {
            return Certificates.subjectCn(chain.get(0));
        }
    }

    private ConsoleTls() {
    }

    /**
     * Reads the operator's certificate and key and the cluster CA (from a ca.crt or cluster-trust.pem), with an error
     * that names the setting and the fix for everything that would otherwise be an opaque handshake failure.
     */
    public static Operator loadOperator(Path certFile, Path keyFile, Path trustFile, Instant now)
            throws SettingsException {
        if (certFile == null || keyFile == null) {
            throw new SettingsException("no operator certificate is set, so the console cannot log in to the agents:"
                    + " choose the certificate and key from 'sealift ca enroll --operator NAME' in Preferences");
        }
        if (trustFile == null) {
            throw new SettingsException("no trust anchor is set, so the console cannot check that it talks to the"
                    + " cluster's agents: choose cluster-trust.pem (from 'sealift ca init') in Preferences");
        }
        List<X509Certificate> chain = readCertificates(certFile, "operator certificate");
        if (chain.isEmpty()) {
            throw new SettingsException("the operator certificate file " + certFile + " holds no certificate: choose"
                    + " the .crt written by 'sealift ca enroll --operator NAME'");
        }
        PrivateKey key;
        try {
            key = Pem.readPrivateKey(requireFile(keyFile, "operator key"));
        } catch (IOException e) {
            throw new SettingsException("cannot use the operator key " + keyFile + ": " + e.getMessage(), e);
        }
        X509Certificate ca = null;
        for (X509Certificate c : readCertificates(trustFile, "trust anchor")) {
            if (Certificates.role(c).orElse(null) == Role.CLUSTER_CA) {
                ca = c;
                break;
            }
        }
        if (ca == null) {
            throw new SettingsException("the trust anchor " + trustFile + " holds no cluster CA certificate: choose"
                    + " cluster-trust.pem or ca.crt written by 'sealift ca init'");
        }
        X509Certificate leaf = chain.get(0);
        Role role = Certificates.role(leaf).orElse(null);
        if (role != Role.OPERATOR) {
            throw new SettingsException("certificate " + Certificates.describe(leaf) + " in " + certFile + " is "
                    + (role == null ? "not a Sealift certificate" : role.description()) + ", but the agents accept"
                    + " only an operator certificate: issue one with 'sealift ca enroll --operator NAME'");
        }
        if (!signedBy(leaf, ca)) {
            throw new SettingsException("the operator certificate " + Certificates.describe(leaf) + " is issued by "
                    + leaf.getIssuerX500Principal().getName() + ", not by the cluster CA "
                    + Certificates.describe(ca) + " of the trust anchor " + trustFile + ": use the certificate and"
                    + " trust anchor of the same cluster");
        }
        String validity = validityProblem(leaf, now);
        if (validity != null) {
            throw new SettingsException("the operator certificate " + Certificates.describe(leaf) + " " + validity
                    + ": issue a new one with 'sealift ca enroll --operator " + Certificates.subjectCn(leaf) + "'");
        }
        if (!keyMatches(key, leaf)) {
            throw new SettingsException("the operator key " + keyFile + " does not belong to the certificate "
                    + certFile + ": choose the key written next to it by 'sealift ca enroll'");
        }
        List<X509Certificate> full = new ArrayList<>(chain);
        if (!full.contains(ca)) {
            full.add(ca);
        }
        return new Operator(List.copyOf(full), key, ca);
    }

    /** A TLS 1.3 context presenting {@code operator} to the agent of {@code expectedHost} and only to it. */
    public static SSLContext context(Operator operator, String expectedHost, Supplier<Instant> clock)
            throws SettingsException {
        try {
            char[] password = "in-memory".toCharArray(); // the key store never leaves memory
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("operator", operator.key(), password, operator.chain().toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance(PROTOCOL);
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {new AgentTrust(operator.clusterCa(), expectedHost,
                    clock)}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new SettingsException("cannot set up TLS with the operator certificate "
                    + operator.name() + ": " + e.getMessage(), e);
        }
    }

    /** Accepts only the agent TLS certificate of one host, issued by the cluster CA and valid now. */
    static final class AgentTrust extends X509ExtendedTrustManager {

        private final X509Certificate ca;
        private final String expectedHost;
        private final Supplier<Instant> clock;
        private final X509ExtendedTrustManager pkix;

        AgentTrust(X509Certificate ca, String expectedHost, Supplier<Instant> clock) throws GeneralSecurityException,
                IOException {
            this.ca = ca;
            this.expectedHost = expectedHost;
            this.clock = clock;
            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            anchors.setCertificateEntry("cluster-ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(anchors);
            X509ExtendedTrustManager found = null;
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    found = x;
                }
            }
            if (found == null) {
                throw new GeneralSecurityException("the JDK offers no PKIX trust manager");
            }
            this.pkix = found;
        }

        private void checkAgent(X509Certificate[] chain, String authType) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the agent presented no certificate");
            }
            X509Certificate leaf = chain[0];
            String who = "certificate " + Certificates.describe(leaf);
            if (!signedBy(leaf, ca)) {
                throw new CertificateException(who + " is issued by " + leaf.getIssuerX500Principal().getName()
                        + ", not by the cluster CA " + Certificates.describe(ca) + " of the console's trust anchor;"
                        + " the address may belong to another cluster's agent, or the trust anchor is of another"
                        + " cluster");
            }
            String validity = validityProblem(leaf, clock.get());
            if (validity != null) {
                throw new CertificateException(who + " " + validity + "; the agent needs a new TLS certificate"
                        + " ('sealift ca enroll --host " + Certificates.subjectCn(leaf) + "')");
            }
            Role role = Certificates.role(leaf).orElse(null);
            if (role != Role.AGENT_TLS) {
                throw new CertificateException(who + " is " + (role == null ? "not a Sealift certificate"
                        : role.description()) + ", not an agent's TLS certificate");
            }
            String cn = Certificates.subjectCn(leaf);
            if (expectedHost != null && !expectedHost.equals(cn)) {
                throw new CertificateException("expected agent " + expectedHost + " but the address answers as agent "
                        + cn + "; fix the address of " + expectedHost + " in Preferences > Agents");
            }
            pkix.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            checkAgent(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkAgent(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkAgent(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the console is never a TLS server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("the console is never a TLS server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("the console is never a TLS server");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[] {ca};
        }
    }

    private static List<X509Certificate> readCertificates(Path file, String what) throws SettingsException {
        try {
            return Certificates.read(requireFile(file, what));
        } catch (IOException | RuntimeException e) {
            throw new SettingsException("cannot read the " + what + " " + file + ": " + e.getMessage(), e);
        }
    }

    private static Path requireFile(Path file, String what) throws SettingsException {
        if (!Files.isRegularFile(file)) {
            throw new SettingsException("the " + what + " " + file + " does not exist: fix the path in Preferences");
        }
        return file;
    }

    static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    static String validityProblem(X509Certificate cert, Instant now) {
        Date d = Date.from(now);
        if (d.after(cert.getNotAfter())) {
            return "expired at " + cert.getNotAfter().toInstant();
        }
        if (d.before(cert.getNotBefore())) {
            return "is not valid before " + cert.getNotBefore().toInstant() + " (check the clocks)";
        }
        return null;
    }

    private static boolean keyMatches(PrivateKey key, X509Certificate cert) {
        String alg = switch (key.getAlgorithm()) {
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (alg == null) {
            return false;
        }
        try {
            byte[] probe = "sealift console key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            java.security.Signature v = java.security.Signature.getInstance(alg);
            v.initVerify(cert.getPublicKey());
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
