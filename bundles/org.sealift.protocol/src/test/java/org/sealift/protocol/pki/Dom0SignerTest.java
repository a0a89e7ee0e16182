package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import org.bouncycastle.asn1.ASN1OctetString;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * The dom0-held record signer's certificate profile, its enrollment, and the attacks of a dom0 that holds such a key
 * with a genuine CA certificate and tries to pass it off as a hypervisor attestation key.
 */
class Dom0SignerTest {

    private final TestPki pki = new TestPki();
    private final KeyPair dom0Key = Ed25519.generate();
    private final AttestationSigner dom0 = AttestationSigner.of(dom0Key);

    private X509Certificate enroll(String host) throws ProtocolException {
        return pki.ca.issueDom0SignerCertificate(host, Dom0Signer.createCsr(dom0, host), TestPki.NOW,
                TestPki.YEAR);
    }

    private Policy allowing(String pattern) {
        return pki.basePolicy(2).allowDom0Signer(pattern).build();
    }

    @Test
    void certificateCarriesTheDocumentedProfileBytes() throws Exception {
        X509Certificate c = enroll("xa");
        assertEquals(Role.DOM0_SIGNER, Certificates.role(c).orElseThrow());
        assertEquals(List.of("2.25.307890488400868535123685704847574499221.2.4"), c.getExtendedKeyUsage());
        assertTrue(c.getCriticalExtensionOIDs().contains("2.25.307890488400868535123685704847574499221.1.3"));
        // extnValue = DER UTF8String (tag 0x0c, length 0x27) of the statement, as docs/protocol-attestation.md says
        byte[] inner = ASN1OctetString.getInstance(c.getExtensionValue(SealiftOids.DOM0_HELD_KEY.getId()))
                .getOctets();
        byte[] text = "dom0-held key, not hypervisor-protected".getBytes(StandardCharsets.US_ASCII);
        byte[] expected = new byte[2 + text.length];
        expected[0] = 0x0c;
        expected[1] = 0x27;
        System.arraycopy(text, 0, expected, 2, text.length);
        assertArrayEquals(expected, inner);
        assertTrue(Certificates.measurement(c).isEmpty(), "a dom0 signer binds no measurement");
        assertEquals("xa", Certificates.subjectCn(c));
        assertTrue(Dom0Signer.isDom0Signer(c));
        assertFalse(Dom0Signer.isDom0Signer(pki.host("h1").akCert));
    }

    @Test
    void dom0SignerPresentedAsAnAttestationKeyIsRefusedEvenWhenThePolicyAllowsDom0Signers() throws Exception {
        X509Certificate c = enroll("h1");
        AkValidator v = new AkValidator(pki.ca.trust());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> v.validate(List.of(c, pki.ca.certificate()), allowing("*"), TestPki.NOW));
        assertEquals(Reason.CERTIFICATE, e.reason());
        assertTrue(e.getMessage().contains("certificate CN=h1 is a dom0-held record-signing certificate (its key is"
                + " kept by dom0, not protected by a hypervisor), not an attestation-key certificate"), e.getMessage());
        // also for historical (record) checks that require an AK
        assertThrows(ProtocolException.class, () -> v.validateHistorical(List.of(c), allowing("*"), TestPki.NOW));
    }

    @Test
    void recordSignerValidationTakesADom0SignerOnlyWhenThePolicyAllowsItsHost() throws Exception {
        X509Certificate c = enroll("xa");
        AkValidator v = new AkValidator(pki.ca.trust());
        AttestedIdentity id = v.validateRecordSigner(List.of(c), allowing("x*"), TestPki.NOW);
        assertTrue(id.dom0Held());
        assertEquals("xa", id.hostId());
        assertArrayEquals(new byte[32], id.measurement());
        ProtocolException refused = assertThrows(ProtocolException.class,
                () -> v.validateRecordSigner(List.of(c), pki.basePolicy(2).build(), TestPki.NOW));
        assertEquals(Reason.POLICY, refused.reason());
        assertTrue(refused.getMessage().contains("does not accept dom0 signers")
                && refused.getMessage().contains("--allow-dom0-signer xa"), refused.getMessage());
        assertThrows(ProtocolException.class, () -> v.validateRecordSigner(List.of(c), allowing("h*"), TestPki.NOW));
        // a hypervisor AK through the same call stays a hypervisor AK
        assertFalse(v.validateRecordSigner(List.of(pki.host("h1").akCert), allowing("*"), TestPki.NOW).dom0Held());
    }

    @Test
    void revokedDom0SignerIsRefused() throws Exception {
        X509Certificate c = enroll("xa");
        Policy p = pki.basePolicy(2).allowDom0Signer("xa").revoke(Certificates.fingerprint(c)).build();
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new AkValidator(pki.ca.trust()).validateRecordSigner(List.of(c), p, TestPki.NOW));
        assertTrue(e.getMessage().contains("revoked"), e.getMessage());
    }

    @Test
    void dom0SignerCsrIsRefusedAsAnAkEnrollment() throws Exception {
        byte[] csr = Dom0Signer.createCsr(dom0, "xa");
        // no measurement: the AK path refuses it before it even looks for an endorsement
        ProtocolException e = assertThrows(ProtocolException.class, () -> AkCsr.parse(csr));
        assertEquals(Reason.UNATTESTED, e.reason());
    }

    @Test
    void caCertifiesOnlyADeclaredSelfSignedRequestForTheNamedHost() throws Exception {
        // an ordinary PKCS#10 (a TLS-style request) does not declare a dom0-held key
        byte[] plainCsr = new org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder(CertIssuer.name("xa", null),
                org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(dom0Key.getPublic().getEncoded()))
                .build(Ed25519.contentSigner(dom0Key.getPrivate())).getEncoded();
        ProtocolException undeclared = assertThrows(ProtocolException.class, () -> pki.ca.issueDom0SignerCertificate(
                "xa", plainCsr, TestPki.NOW, TestPki.YEAR));
        assertTrue(undeclared.getMessage().contains("does not declare a dom0-held key"), undeclared.getMessage());
        // the request of another host
        ProtocolException other = assertThrows(ProtocolException.class, () -> pki.ca.issueDom0SignerCertificate(
                "xb", Dom0Signer.createCsr(dom0, "xa"), TestPki.NOW, TestPki.YEAR));
        assertTrue(other.getMessage().contains("names host 'xa'"), other.getMessage());
        // a request whose signature does not belong to its key (proof of possession)
        byte[] csr = Dom0Signer.createCsr(dom0, "xa");
        csr[csr.length - 1] ^= 1;
        ProtocolException forged = assertThrows(ProtocolException.class, () -> pki.ca.issueDom0SignerCertificate(
                "xa", csr, TestPki.NOW, TestPki.YEAR));
        assertEquals(Reason.TAMPERED, forged.reason(), forged.getMessage());
    }

    @Test
    void dom0SignerCertificateFromAForeignCaIsRefusedForRecords() throws Exception {
        ClusterCa other = ClusterCa.create("prod-cluster", TestPki.NOW.minus(Duration.ofDays(1)),
                TestPki.YEAR.multipliedBy(2));
        X509Certificate foreign = other.issueDom0SignerCertificate("xa", Dom0Signer.createCsr(dom0, "xa"),
                TestPki.NOW, TestPki.YEAR);
        ProtocolException e = assertThrows(ProtocolException.class, () -> new AkValidator(pki.ca.trust())
                .validateRecordSigner(List.of(foreign), allowing("*"), TestPki.NOW));
        assertEquals(Reason.CERTIFICATE, e.reason());
    }
}
