package org.sealift.protocol.handshake;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.PolicyStore;
import org.sealift.protocol.pki.Role;
import org.sealift.protocol.pki.SealiftOids;
import org.sealift.protocol.pki.VendorRoot;

/**
 * A cluster for handshake and token tests, built with the real pki: a cluster CA, a hardware vendor root, hosts whose
 * EK endorses their AK CSR, AK certificates from the CA, and per-host policy stores (each hypervisor has its own).
 * Time is fixed so validity tests are exact and nothing depends on the wall clock.
 */
public final class TestCluster {

    public static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    public static final Duration YEAR = Duration.ofDays(365);
    public static final UUID VM = UUID.fromString("6f1c8a52-7d4e-4b1a-9c3e-2a5b7d9e0f11");

    public final ClusterCa ca;
    public final VendorRoot vendor = VendorRoot.create("Simulated Hardware Inc", NOW.minus(Duration.ofDays(30)),
            YEAR.multipliedBy(10));
    public final byte[] goodMeasurement = measurement(0x11);

    public TestCluster() {
        this("prod-cluster");
    }

    public TestCluster(String name) {
        ca = ClusterCa.create(name, NOW.minus(Duration.ofDays(20)), YEAR.multipliedBy(5));
        try {
            ca.trustVendorRoot(vendor.certificate());
        } catch (ProtocolException e) {
            throw new AssertionError(e);
        }
    }

    public static byte[] measurement(int fill) {
        byte[] m = new byte[32];
        Arrays.fill(m, (byte) fill);
        return m;
    }

    /** Policy {@code serial}: the one suite, the good measurement, hosts h* may receive any VM. */
    public Policy.Builder policy(long serial) {
        return Policy.builder("prod-2026", serial)
                .validity(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)))
                .minProtocolVersion(1)
                .allowSuite(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.name())
                .allowMeasurement(goodMeasurement, "sim-hv-1.0")
                .allowReceive("h*", "*");
    }

    public PolicyStore store(Policy policy) {
        PolicyStore store = new PolicyStore(ca.trust());
        try {
            store.accept(ca.signPolicy(policy), NOW);
        } catch (ProtocolException e) {
            throw new AssertionError(e);
        }
        return store;
    }

    public Host host(String id) throws ProtocolException {
        return new Host(id, goodMeasurement, NOW, YEAR);
    }

    public Host host(String id, byte[] measurement) throws ProtocolException {
        return new Host(id, measurement, NOW, YEAR);
    }

    /** A host whose AK certificate is valid from {@code issuedAt} for {@code validity}. */
    public Host host(String id, Instant issuedAt, Duration validity) throws ProtocolException {
        return new Host(id, goodMeasurement, issuedAt, validity);
    }

    /** A hypervisor: EK from the vendor, AK generated inside, AK certificate from the CA, its own policy store. */
    public final class Host {
        public final String id;
        public final KeyPair akPair;
        public final AttestationSigner ak;
        public final X509Certificate akCert;
        public final byte[] measurement;
        public PolicyStore store = store(policy(1).build());

        Host(String id, byte[] measurement, Instant issuedAt, Duration validity) throws ProtocolException {
            this.id = id;
            this.measurement = measurement.clone();
            EndorsementKey ek = vendor.manufacture(id, NOW.minus(Duration.ofDays(10)), YEAR.multipliedBy(5));
            this.akPair = generateEd25519();
            this.ak = AttestationSigner.of(akPair);
            this.akCert = ca.issueAkCertificate(ek.endorse(AkCsr.create(ak, id, measurement)), issuedAt, validity);
        }

        public List<X509Certificate> chain() {
            return List.of(akCert, ca.certificate());
        }

        public HostCredentials credentials() throws ProtocolException {
            return new HostCredentials(ak, chain(), measurement);
        }

        public HandshakeConfig config() {
            return HandshakeConfig.of(new AkValidator(ca.trust()), store)
                    .withClock(Clock.fixed(NOW, ZoneOffset.UTC));
        }
    }

    public static KeyPair generateEd25519() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * What dom0 can make without the CA: a self-signed certificate that looks like an AK certificate (role, EKU and
     * measurement extensions, CN = host id), with issuer name {@code issuerCn}.
     */
    public static X509Certificate selfSignedAk(String hostId, KeyPair key, byte[] measurement, String issuerCn) {
        try {
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + issuerCn),
                    BigInteger.valueOf(42), Date.from(NOW.minus(Duration.ofDays(1))),
                    Date.from(NOW.plus(YEAR)), new X500Name("CN=" + hostId), key.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(KeyPurposeId.getInstance(SealiftOids.KP_ATTESTATION)));
            b.addExtension(SealiftOids.ROLE, false, new DERUTF8String(Role.ATTESTATION_KEY.label()));
            b.addExtension(SealiftOids.MEASUREMENT, false, new DEROctetString(measurement));
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("Ed25519").build(key.getPrivate())));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
