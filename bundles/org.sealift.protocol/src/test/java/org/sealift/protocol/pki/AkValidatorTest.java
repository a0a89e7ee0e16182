package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class AkValidatorTest {

    private final TestPki pki = new TestPki();
    private final AkValidator validator = new AkValidator(pki.ca.trust());

    private ProtocolException refused(List<X509Certificate> chain) {
        return assertThrows(ProtocolException.class, () -> validator.validate(chain, pki.store, TestPki.NOW));
    }

    @Test
    void attestedPeerYieldsHostAkFingerprintAndMeasurement() throws Exception {
        TestPki.Host h = pki.host("h1");
        AttestedIdentity id = validator.validate(h.chain(), pki.store, TestPki.NOW);
        assertEquals("h1", id.hostId());
        assertArrayEquals(h.fingerprint(), id.akFingerprint());
        assertArrayEquals(Ed25519.sha256(h.akPair.getPublic().getEncoded()), id.akFingerprint());
        assertArrayEquals(pki.goodMeasurement, id.measurement());
        assertEquals("sim-hv-1.0", id.measurementName().orElseThrow());
        assertEquals(1, id.policySerial());
        byte[] msg = "transcript".getBytes();
        assertTrue(id.verifies(msg, h.ak.sign(msg)));
        assertFalse(id.verifies(msg, pki.host("h2").ak.sign(msg)));
    }

    @Test
    void leafOnlyChainAndDerChainAreAccepted() throws Exception {
        TestPki.Host h = pki.host("h1");
        assertEquals("h1", validator.validate(List.of(h.akCert), pki.store, TestPki.NOW).hostId());
        assertEquals("h1", validator.validateEncoded(Certificates.encodeChain(h.chain()), pki.store, TestPki.NOW)
                .hostId());
    }

    @Test
    void unattestedPeerWithoutAnyAkCertificateIsRefused() {
        var e = refused(List.of());
        assertEquals(Reason.UNATTESTED, e.reason());
        assertTrue(e.getMessage().contains("no attestation-key certificate was presented"), e.getMessage());
    }

    @Test
    void measurementNotInPolicyIsRefused() throws Exception {
        TestPki.Host rogue = pki.host("h2", TestPki.measurement(0x9f));
        var e = refused(rogue.chain());
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("host h2 is not attested: measurement 9f9f9f9f\u2026 is not in policy"
                + " 'prod-2026' serial 1"), e.getMessage());
    }

    @Test
    void agentTlsKeyUsedAsAttestationKeyIsRefused() throws Exception {
        // dom0 holds its agent's TLS key and a CA-issued TLS certificate for it; it presents that as its AK
        KeyPair tls = Ed25519.generate();
        X509Certificate tlsCert = pki.ca.issueAgentTlsCertificate("h2", tls.getPublic(), TestPki.NOW, TestPki.YEAR);
        var e = refused(List.of(tlsCert, pki.ca.certificate()));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("certificate CN=h2 is a TLS certificate, not an attestation-key"
                + " certificate"), e.getMessage());
    }

    @Test
    void operatorCertificateUsedAsAttestationKeyIsRefused() throws Exception {
        X509Certificate op = pki.ca.issueOperatorCertificate("alice", Ed25519.generate().getPublic(), TestPki.NOW,
                TestPki.YEAR);
        var e = refused(List.of(op));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("certificate CN=alice is an operator certificate, not an attestation-key"
                + " certificate"), e.getMessage());
    }

    @Test
    void endorsementCertificateUsedAsAttestationKeyIsRefused() throws Exception {
        // an EK is not issued by the cluster CA at all
        TestPki.Host h = pki.host("h1");
        var e = refused(List.of(h.ek.chain().get(0)));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("is issued by CN=Simulated Hardware Inc, not by cluster CA"
                + " CN=prod-cluster (foreign CA)"), e.getMessage());
    }

    @Test
    void expiredAkCertificateIsRefused() throws Exception {
        TestPki.Host h = pki.host("h1");
        var e = assertThrows(ProtocolException.class,
                () -> validator.validate(h.chain(), pki.basePolicy(1).validity(TestPki.NOW, TestPki.NOW.plus(
                        TestPki.YEAR.multipliedBy(3))).build(), TestPki.NOW.plus(TestPki.YEAR).plusSeconds(1)));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("certificate CN=h1 expired at"), e.getMessage());
    }

    @Test
    void akCertificateFromAForeignCaIsRefused() throws Exception {
        // another cluster (or dom0 with its own CA) issues a perfectly endorsed AK certificate
        TestPki other = new TestPki();
        TestPki.Host foreign = other.host("h1");
        var e = refused(foreign.chain());
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("which is not cluster CA CN=prod-cluster (foreign CA)"), e.getMessage());
        // even presented without its CA, the same-named foreign CA's signature does not verify
        var e2 = refused(List.of(foreign.akCert));
        assertEquals(Reason.CERTIFICATE, e2.reason());
        assertTrue(e2.getMessage().contains("does not verify with cluster CA CN=prod-cluster"), e2.getMessage());
    }

    @Test
    void revokedAkAfterAFenceIsRefused() throws Exception {
        TestPki.Host lost = pki.host("h2");
        assertEquals("h2", validator.validate(lost.chain(), pki.store, TestPki.NOW).hostId());
        FenceBundle fb = pki.ca.issueFence(new byte[16], new byte[32], lost.fingerprint(),
                pki.store.current(TestPki.NOW));
        pki.store.accept(fb.policy(), TestPki.NOW);
        var e = refused(lost.chain());
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("host h2 is not attested: its AK " + Hex.abbrev(lost.fingerprint())
                + " is revoked by policy 'prod-2026' serial 2 (fenced)"), e.getMessage());
    }

    @Test
    void expiredPolicyRefusesEvenAGoodPeer() throws Exception {
        TestPki.Host h = pki.host("h1");
        var e = assertThrows(ProtocolException.class,
                () -> validator.validate(h.chain(), pki.store, TestPki.NOW.plus(Duration.ofDays(31))));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("policy 'prod-2026' serial 1 expired at"), e.getMessage());
    }

    @Test
    void alteredAkCertificateIsRefused() throws Exception {
        TestPki.Host h = pki.host("h1");
        byte[] der = h.akCert.getEncoded();
        der[der.length - 5] ^= 1; // inside the CA signature
        X509Certificate altered = Certificates.parse(der);
        var e = refused(List.of(altered));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("does not verify with cluster CA"), e.getMessage());
    }

    @Test
    void agentTlsCertificateFromTheAgentsOwnEcCsrIsStillNotAnAttestationKey() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        KeyPair ec = g.generateKeyPair();
        byte[] csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new javax.security.auth.x500.X500Principal("CN=whatever"), ec.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                        .build(ec.getPrivate())).getEncoded();
        X509Certificate tls = pki.ca.issueAgentTlsCertificate("h2", csr, TestPki.NOW, TestPki.YEAR);
        assertEquals("h2", Certificates.subjectCn(tls));
        assertEquals(Role.AGENT_TLS, Certificates.role(tls).orElseThrow());
        assertTrue(tls.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"));
        assertEquals(Reason.CERTIFICATE, refused(List.of(tls)).reason());
        // a CSR whose signature was made by another key is refused
        KeyPair other = java.security.KeyPairGenerator.getInstance("EC").generateKeyPair();
        byte[] forged = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new javax.security.auth.x500.X500Principal("CN=whatever"), ec.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                        .build(other.getPrivate())).getEncoded();
        var e = assertThrows(ProtocolException.class,
                () -> pki.ca.issueAgentTlsCertificate("h2", forged, TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.TAMPERED, e.reason());
        assertTrue(e.getMessage().contains("TLS CSR for host h2 is not signed by the key it asks to certify"));
    }
}
