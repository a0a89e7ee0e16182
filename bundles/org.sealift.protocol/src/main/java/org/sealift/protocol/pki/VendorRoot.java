package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

import org.bouncycastle.asn1.x500.X500Name;

/**
 * A simulated hardware vendor's root: it certifies per-host endorsement keys at "manufacturing" time. It is kept apart
 * from dom0 and from the cluster CA (a separate key and directory); the cluster CA only holds its certificate, as a
 * trust anchor for endorsement chains.
 */
public final class VendorRoot {

    public static final String CERT_FILE = "vendor-root.crt";
    public static final String KEY_FILE = "vendor-root.key";

    private final X509Certificate certificate;
    private final PrivateKey key;

    private VendorRoot(X509Certificate certificate, PrivateKey key) {
        this.certificate = certificate;
        this.key = key;
    }

    public static VendorRoot create(String vendorName, Instant now, Duration validity) {
        Objects.requireNonNull(vendorName, "vendorName");
        KeyPair kp = Ed25519.generate();
        X500Name name = CertIssuer.name(vendorName, null);
        X509Certificate cert = CertIssuer.issue(name, kp.getPrivate(), name, kp.getPublic(), now, now.plus(validity),
                Role.VENDOR_ROOT, null, null);
        return new VendorRoot(cert, kp.getPrivate());
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** Certifies an endorsement key generated inside the (simulated) hardware of host {@code hostId}. */
    public X509Certificate certifyEndorsementKey(String hostId, PublicKey ekPublicKey, Instant now,
            Duration validity) {
        Certificates.requireHostId(hostId);
        return CertIssuer.issue(CertIssuer.nameOf(certificate), key, CertIssuer.name(hostId, vendorName()),
                ekPublicKey, now, now.plus(validity), Role.ENDORSEMENT_KEY, CertIssuer.hostNames(hostId, false), null);
    }

    /** "Manufactures" host hardware: a fresh endorsement key and its certificate chain. */
    public EndorsementKey manufacture(String hostId, Instant now, Duration validity) {
        KeyPair ek = Ed25519.generate();
        X509Certificate cert = certifyEndorsementKey(hostId, ek.getPublic(), now, validity);
        return new EndorsementKey(ek.getPrivate(), List.of(cert, certificate));
    }

    private String vendorName() {
        return Certificates.subjectCn(certificate);
    }

    public void save(Path dir) throws IOException {
        Certificates.write(dir.resolve(CERT_FILE), List.of(certificate));
        Pem.writePrivateKey(dir.resolve(KEY_FILE), key);
    }

    public static VendorRoot load(Path dir) throws IOException {
        X509Certificate cert = Certificates.read(dir.resolve(CERT_FILE)).get(0);
        return new VendorRoot(cert, Pem.readPrivateKey(dir.resolve(KEY_FILE)));
    }
}
