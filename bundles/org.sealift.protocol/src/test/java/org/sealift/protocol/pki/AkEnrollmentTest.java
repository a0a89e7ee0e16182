package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class AkEnrollmentTest {

    private final TestPki pki = new TestPki();

    @Test
    void endorsedCsrYieldsAkCertificateBindingHostAndMeasurement() throws Exception {
        TestPki.Host h = pki.host("h1");
        assertEquals("h1", Certificates.subjectCn(h.akCert));
        assertEquals(Role.ATTESTATION_KEY, Certificates.role(h.akCert).orElseThrow());
        assertArrayEquals(pki.goodMeasurement, Certificates.measurement(h.akCert).orElseThrow());
        assertArrayEquals(h.akPair.getPublic().getEncoded(), h.akCert.getPublicKey().getEncoded());
        assertTrue(h.akCert.getSubjectAlternativeNames().stream()
                .anyMatch(n -> "urn:sealift:host:h1".equals(n.get(1))));
    }

    @Test
    void akCsrWithoutEndorsementFromDom0OwnKeyIsRefused() throws Exception {
        // dom0 makes its own "AK" and CSR; it has no EK, so it submits the CSR alone
        AttestationSigner dom0Key = AttestationSigner.of(Ed25519.generate());
        AkCsr csr = AkCsr.create(dom0Key, "h2", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class, () -> pki.ca.issueAkCertificate(
                new AkEnrollment(csr, List.of(), new byte[0]), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("AK CSR for host h2 is not endorsed: no endorsement-key certificate"),
                e.getMessage());
        assertTrue(e.getMessage().contains("the CSR must be signed by the host's endorsement key certified by a"
                + " trusted vendor root"), e.getMessage());
    }

    @Test
    void akCsrEndorsedByDom0KeyPosingAsEkWithTheRealEkChainIsRefused() throws Exception {
        // dom0 can read the host's EK certificate (public) but not use the EK: it signs with its own key instead
        TestPki.Host real = pki.host("h2");
        AttestationSigner dom0Key = AttestationSigner.of(Ed25519.generate());
        AkCsr csr = AkCsr.create(dom0Key, "h2", pki.goodMeasurement);
        byte[] forged = Ed25519.sign(Ed25519.generate().getPrivate(),
                EndorsementKey.endorsementMessage(csr.encoded()));
        var e = assertThrows(ProtocolException.class, () -> pki.ca.issueAkCertificate(
                new AkEnrollment(csr, real.ek.chain(), forged), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("the EK signature over the CSR does not verify with the endorsement key"
                + " of CN=h2"), e.getMessage());
    }

    @Test
    void akCsrEndorsedByASelfMadeEkCertificateIsRefused() throws Exception {
        // dom0 certifies its own "EK" with its own "vendor" root
        VendorRoot dom0Vendor = VendorRoot.create("Simulated Hardware Inc", TestPki.NOW.minus(Duration.ofDays(1)),
                TestPki.YEAR);
        EndorsementKey fakeEk = dom0Vendor.manufacture("h2", TestPki.NOW.minus(Duration.ofDays(1)), TestPki.YEAR);
        AkCsr csr = AkCsr.create(AttestationSigner.of(Ed25519.generate()), "h2", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAkCertificate(fakeEk.endorse(csr), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("which is not a trusted vendor root"), e.getMessage());
    }

    @Test
    void endorsementByAForeignVendorRootIsRefused() throws Exception {
        VendorRoot foreign = VendorRoot.create("Other Vendor", TestPki.NOW.minus(Duration.ofDays(1)), TestPki.YEAR);
        EndorsementKey ek = foreign.manufacture("h3", TestPki.NOW.minus(Duration.ofDays(1)), TestPki.YEAR);
        AkCsr csr = AkCsr.create(AttestationSigner.of(Ed25519.generate()), "h3", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAkCertificate(ek.endorse(csr), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("AK CSR for host h3 is not endorsed: the endorsement chain of CN=h3"
                + " ends at CN=Other Vendor, which is not a trusted vendor root"), e.getMessage());
    }

    @Test
    void endorsementKeyOfAnotherHostCannotEndorseThisHostsAk() throws Exception {
        TestPki.Host h1 = pki.host("h1");
        AkCsr csr = AkCsr.create(AttestationSigner.of(Ed25519.generate()), "h2", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAkCertificate(h1.ek.endorse(csr), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("the endorsement key belongs to host h1, not h2"), e.getMessage());
    }

    @Test
    void csrNotSignedByTheKeyItCertifiesIsRefused() throws Exception {
        // a CSR carrying the victim's AK public key but signed by another key: proof of possession fails
        KeyPair victim = Ed25519.generate();
        AttestationSigner mismatched = new AttestationSigner() {
            private final AttestationSigner other = AttestationSigner.of(Ed25519.generate());

            @Override
            public java.security.PublicKey publicKey() {
                return victim.getPublic();
            }

            @Override
            public byte[] sign(byte[] message) throws ProtocolException {
                return other.sign(message);
            }
        };
        TestPki.Host h = pki.host("h4");
        AkCsr csr = AkCsr.create(mismatched, "h4", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAkCertificate(h.ek.endorse(csr), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.TAMPERED, e.reason());
        assertTrue(e.getMessage().contains("proof of possession"), e.getMessage());
    }

    @Test
    void expiredEndorsementCertificateIsRefused() throws Exception {
        EndorsementKey old = pki.vendor.manufacture("h5", TestPki.NOW.minus(Duration.ofDays(9)), Duration.ofDays(2));
        AkCsr csr = AkCsr.create(AttestationSigner.of(Ed25519.generate()), "h5", pki.goodMeasurement);
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAkCertificate(old.endorse(csr), TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("certificate CN=h5 in the endorsement chain expired at"), e.getMessage());
    }

    @Test
    void enrollmentFileRoundTripsAndStillIssues() throws Exception {
        TestPki.Host h = pki.host("h6");
        AkCsr csr = AkCsr.create(h.ak, "h6", pki.goodMeasurement);
        String pem = h.ek.endorse(csr).toPem();
        AkEnrollment back = AkEnrollment.fromPem(pem);
        X509Certificate cert = pki.ca.issueAkCertificate(back, TestPki.NOW, TestPki.YEAR);
        assertEquals("h6", Certificates.subjectCn(cert));
        assertArrayEquals(csr.encoded(), back.csr().encoded());
    }
}
