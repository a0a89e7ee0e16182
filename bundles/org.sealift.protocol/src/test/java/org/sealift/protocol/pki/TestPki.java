package org.sealift.protocol.pki;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;

/** A small cluster for tests: CA, vendor root, hosts with EK + AK, and a policy that trusts their measurement. */
final class TestPki {

    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final Duration YEAR = Duration.ofDays(365);
    static final String SUITE = "SMP1-X25519-ED25519-AES256GCM-SHA256";

    final ClusterCa ca = ClusterCa.create("prod-cluster", NOW.minus(Duration.ofDays(1)), YEAR.multipliedBy(5));
    final VendorRoot vendor = VendorRoot.create("Simulated Hardware Inc", NOW.minus(Duration.ofDays(10)),
            YEAR.multipliedBy(10));
    final byte[] goodMeasurement = measurement(0x11);
    final PolicyStore store;

    TestPki() {
        try {
            ca.trustVendorRoot(vendor.certificate());
            store = new PolicyStore(ca.trust());
            store.accept(ca.signPolicy(basePolicy(1).build()), NOW);
        } catch (ProtocolException e) {
            throw new AssertionError(e);
        }
    }

    Policy.Builder basePolicy(long serial) {
        return Policy.builder("prod-2026", serial)
                .validity(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)))
                .minProtocolVersion(1)
                .allowSuite(SUITE)
                .allowMeasurement(goodMeasurement, "sim-hv-1.0")
                .allowReceive("h*", "vm-*");
    }

    static byte[] measurement(int fill) {
        byte[] m = new byte[32];
        Arrays.fill(m, (byte) fill);
        return m;
    }

    /** A host as its hypervisor sees it: EK from the vendor, AK generated inside, AK certificate from the CA. */
    final class Host {
        final String id;
        final EndorsementKey ek;
        final KeyPair akPair = Ed25519.generate();
        final AttestationSigner ak = AttestationSigner.of(akPair);
        final X509Certificate akCert;

        Host(String id, byte[] measurement) throws ProtocolException {
            this.id = id;
            this.ek = vendor.manufacture(id, NOW.minus(Duration.ofDays(5)), YEAR.multipliedBy(5));
            this.akCert = ca.issueAkCertificate(ek.endorse(AkCsr.create(ak, id, measurement)), NOW, YEAR);
        }

        List<X509Certificate> chain() {
            return List.of(akCert, ca.certificate());
        }

        byte[] fingerprint() {
            return Certificates.fingerprint(akCert);
        }
    }

    Host host(String id) throws ProtocolException {
        return new Host(id, goodMeasurement);
    }

    Host host(String id, byte[] measurement) throws ProtocolException {
        return new Host(id, measurement);
    }
}
