package org.sealift.protocol.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Arrays;

import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * A PKCS#10 request for an attestation-key certificate: subject CN = host id, Ed25519 AK public key, and the
 * measurement as a requested {@link SealiftOids#MEASUREMENT} extension (pkcs-9 extensionRequest attribute). It is
 * signed by the AK itself (proof of possession) through {@link AttestationSigner}, so the AK never leaves the
 * hypervisor. On its own it proves nothing about the hardware: see {@link AkEnrollment}.
 */
public final class AkCsr {

    public static final int MAX_CSR_BYTES = 8 * 1024;

    private final byte[] der;
    private final PKCS10CertificationRequest request;
    private final String hostId;
    private final byte[] measurement;
    private final PublicKey publicKey;

    private AkCsr(byte[] der, PKCS10CertificationRequest request, String hostId, byte[] measurement,
            PublicKey publicKey) {
        this.der = der;
        this.request = request;
        this.hostId = hostId;
        this.measurement = measurement;
        this.publicKey = publicKey;
    }

    /** Builds and AK-signs the CSR inside the hypervisor. */
    public static AkCsr create(AttestationSigner ak, String hostId, byte[] measurement) throws ProtocolException {
        Certificates.requireHostId(hostId);
        if (measurement.length != Certificates.MEASUREMENT_BYTES) {
            throw new IllegalArgumentException("measurement must be 32 bytes (SHA-256), got " + measurement.length);
        }
        if (!Ed25519.isEd25519(ak.publicKey())) {
            throw new IllegalArgumentException("attestation keys are Ed25519, got " + ak.publicKey().getAlgorithm());
        }
        try {
            Extensions ext = new Extensions(new Extension(SealiftOids.MEASUREMENT, false,
                    new DEROctetString(new DEROctetString(measurement).getEncoded())));
            PKCS10CertificationRequest req = new PKCS10CertificationRequestBuilder(CertIssuer.name(hostId, null),
                    SubjectPublicKeyInfo.getInstance(ak.publicKey().getEncoded()))
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext)
                    .build(Ed25519.contentSigner(ak));
            return parse(req.getEncoded());
        } catch (Ed25519.SignerFailure e) {
            throw e.protocolException();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode AK CSR: " + e.getMessage(), e);
        }
    }

    /**
     * Parses a DER CSR and checks its shape (Ed25519 key and signature algorithm, host id, 32-byte measurement). It
     * does not check the signature: {@link #checkProofOfPossession()} does.
     */
    public static AkCsr parse(byte[] der) throws ProtocolException {
        if (der.length > MAX_CSR_BYTES) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR is " + der.length + " bytes, limit " + MAX_CSR_BYTES);
        }
        PKCS10CertificationRequest req;
        try {
            req = new PKCS10CertificationRequest(der);
            if (!Arrays.equals(req.getEncoded(), der)) {
                throw new ProtocolException(Reason.MALFORMED, "AK CSR is not in canonical DER");
            }
        } catch (IOException | RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR is not a PKCS#10 request: " + e.getMessage(), e);
        }
        String hostId;
        try {
            hostId = Certificates.cn(req.getSubject());
        } catch (RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR subject is malformed: " + e.getMessage(), e);
        }
        if (!Certificates.isValidHostId(hostId)) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR subject CN \"" + hostId + "\" is not a valid host id");
        }
        if (!Ed25519.ALGORITHM.equals(req.getSignatureAlgorithm())) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR for host " + hostId
                    + " is not signed with Ed25519 (algorithm " + req.getSignatureAlgorithm().getAlgorithm() + ")");
        }
        PublicKey key;
        try {
            key = Ed25519.publicKey(req.getSubjectPublicKeyInfo());
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR for host " + hostId
                    + " does not carry an Ed25519 public key: " + e.getMessage(), e);
        }
        byte[] measurement = null;
        for (Attribute a : req.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            try {
                Extensions ext = Extensions.getInstance(a.getAttrValues().getObjectAt(0));
                Extension m = ext.getExtension(SealiftOids.MEASUREMENT);
                if (m != null) {
                    measurement = ASN1OctetString.getInstance(m.getParsedValue()).getOctets();
                }
            } catch (RuntimeException e) {
                throw new ProtocolException(Reason.MALFORMED,
                        "AK CSR for host " + hostId + " has a malformed extension request: " + e.getMessage(), e);
            }
        }
        if (measurement == null || measurement.length != Certificates.MEASUREMENT_BYTES) {
            throw new ProtocolException(Reason.UNATTESTED, "AK CSR for host " + hostId
                    + " carries no 32-byte hypervisor measurement (extension " + SealiftOids.MEASUREMENT + ")");
        }
        return new AkCsr(der.clone(), req, hostId, measurement, key);
    }

    /** The CSR must be signed by the key it asks to certify. */
    public void checkProofOfPossession() throws ProtocolException {
        byte[] tbs;
        try {
            tbs = request.toASN1Structure().getCertificationRequestInfo().getEncoded("DER");
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "AK CSR cannot be re-encoded: " + e.getMessage(), e);
        }
        byte[] sig = request.getSignature();
        if (!Ed25519.verify(publicKey, tbs, sig)) {
            throw new ProtocolException(Reason.TAMPERED, "AK CSR for host " + hostId
                    + " is not signed by the key it asks to certify (proof of possession failed)");
        }
    }

    public byte[] encoded() {
        return der.clone();
    }

    public String hostId() {
        return hostId;
    }

    public byte[] measurement() {
        return measurement.clone();
    }

    public PublicKey publicKey() {
        return publicKey;
    }
}
