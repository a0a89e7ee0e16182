package org.sealift.agent.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.Role;

/**
 * One TLS identity issued by the cluster CA (an agent's TLS certificate or an operator's client certificate), its
 * private key, and the cluster CA certificate that is the only trust anchor for peers. Loading checks everything
 * that would otherwise surface later as an opaque handshake failure: key and certificate belong together, the
 * certificate comes from this CA, it is still valid, and it has the role the caller needs.
 */
public final class TlsCredentials {

    private final List<X509Certificate> chain;
    private final PrivateKey key;
    private final X509Certificate clusterCa;

    private TlsCredentials(List<X509Certificate> chain, PrivateKey key, X509Certificate clusterCa) {
        this.chain = List.copyOf(chain);
        this.key = key;
        this.clusterCa = clusterCa;
    }

    /**
     * Checks and wraps in-memory material. {@code chain} is leaf first; the CA certificate may or may not follow.
     *
     * @throws TlsSetupException naming what does not fit and how to fix it
     */
    public static TlsCredentials of(List<X509Certificate> chain, PrivateKey key, X509Certificate clusterCa,
            Clock clock) throws TlsSetupException {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(clusterCa, "clusterCa");
        if (chain.isEmpty()) {
            throw new TlsSetupException("the certificate file holds no certificate");
        }
        if (Certificates.role(clusterCa).orElse(null) != Role.CLUSTER_CA) {
            throw new TlsSetupException("the trust anchor " + Certificates.describe(clusterCa)
                    + " is not a cluster CA certificate; point it at the ca.crt or cluster-trust.pem of the cluster CA");
        }
        X509Certificate leaf = chain.get(0);
        if (!keyMatches(key, leaf.getPublicKey())) {
            throw new TlsSetupException("the private key does not belong to certificate " + Certificates.describe(leaf)
                    + "; use the key file that was written next to it by 'sealift ca enroll'");
        }
        if (!PeerCertificates.signedBy(leaf, clusterCa)) {
            throw new TlsSetupException("certificate " + Certificates.describe(leaf) + " is issued by "
                    + leaf.getIssuerX500Principal().getName() + ", not by the cluster CA "
                    + Certificates.describe(clusterCa) + "; enroll it again with this cluster's CA, or point the CA"
                    + " setting at the CA that issued it");
        }
        String validity = PeerCertificates.validityProblem(leaf, clock.instant());
        if (validity != null) {
            throw new TlsSetupException("certificate " + Certificates.describe(leaf) + " " + validity + "; "
                    + PeerCertificates.renewHint(leaf));
        }
        List<X509Certificate> full = new ArrayList<>(chain);
        if (full.stream().noneMatch(c -> c.equals(clusterCa))) {
            full.add(clusterCa);
        }
        return new TlsCredentials(full, key, clusterCa);
    }

    /** Reads PEM files: the certificate (leaf first), the owner-only private key, and the CA or cluster-trust file. */
    public static TlsCredentials load(Path certFile, Path keyFile, Path caFile, Clock clock)
            throws TlsSetupException {
        List<X509Certificate> chain = readCertificates(certFile, "certificate");
        PrivateKey key;
        try {
            key = Pem.readPrivateKey(requireFile(keyFile, "private key"));
        } catch (IOException e) {
            throw new TlsSetupException("cannot use private key " + keyFile + ": " + e.getMessage());
        }
        return of(chain, key, readClusterCa(caFile), clock);
    }

    /** The cluster CA certificate from a {@code ca.crt} or a {@code cluster-trust.pem} file. */
    public static X509Certificate readClusterCa(Path caFile) throws TlsSetupException {
        for (X509Certificate c : readCertificates(caFile, "cluster CA")) {
            if (Certificates.role(c).orElse(null) == Role.CLUSTER_CA) {
                return c;
            }
        }
        throw new TlsSetupException(caFile + " holds no cluster CA certificate; use the ca.crt or cluster-trust.pem"
                + " written by 'sealift ca init'");
    }

    private static List<X509Certificate> readCertificates(Path file, String what) throws TlsSetupException {
        try {
            return Certificates.read(requireFile(file, what));
        } catch (IOException e) {
            throw new TlsSetupException("cannot read the " + what + " file " + file + ": " + e.getMessage());
        }
    }

    private static Path requireFile(Path file, String what) throws TlsSetupException {
        if (!Files.isRegularFile(file)) {
            throw new TlsSetupException("the " + what + " file " + file + " does not exist; create it with"
                    + " 'sealift ca enroll' or fix the path");
        }
        if (!Files.isReadable(file)) {
            throw new TlsSetupException("the " + what + " file " + file + " is not readable by this user");
        }
        return file;
    }

    /** Refuses credentials of the wrong kind, e.g. an operator certificate given to an agent. */
    public TlsCredentials requireRole(Role expected, String useInstead) throws TlsSetupException {
        Optional<Role> role = Certificates.role(leaf());
        if (role.orElse(null) != expected) {
            throw new TlsSetupException("certificate " + Certificates.describe(leaf()) + " is "
                    + role.map(PeerCertificates::describe).orElse("not a Sealift certificate") + ", but "
                    + PeerCertificates.describe(expected) + " is needed here; " + useInstead);
        }
        return this;
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** Leaf first, ending with the cluster CA certificate. */
    public List<X509Certificate> chain() {
        return chain;
    }

    PrivateKey privateKey() {
        return key;
    }

    public X509Certificate clusterCa() {
        return clusterCa;
    }

    /** The CN: host id for agents, the person or console name for operators. */
    public String name() {
        return Certificates.subjectCn(leaf());
    }

    private static boolean keyMatches(PrivateKey key, PublicKey pub) {
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
            byte[] probe = "sealift tls key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
