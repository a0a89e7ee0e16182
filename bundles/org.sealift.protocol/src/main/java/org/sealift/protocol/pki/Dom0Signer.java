package org.sealift.protocol.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;

import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.DERUTF8String;
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
 * The stand-in for an attestation key on a host whose hypervisor cannot hold one (Debian's unpatched Xen): an
 * Ed25519 key the agent keeps in dom0, certified by the cluster CA only when an operator asks for it explicitly
 * ({@code sealift ca enroll --host ID --dom0-signer}), in a certificate of its own profile (role {@code dom0-signer},
 * EKU {@link SealiftOids#KP_DOM0_RECORD_SIGNING}, the critical {@link SealiftOids#DOM0_HELD_KEY} extension, no
 * measurement). Its records say what the agents did; dom0, which the threat model does not trust, holds the key, so
 * they say nothing about what a hypervisor enforced. {@link AkValidator#validate} refuses such a certificate wherever
 * an AK is required (handshakes, tokens, protected VMs); only {@link AkValidator#validateRecordSigner} takes it, and
 * only when the policy allows dom0 signers for that host. Layout: docs/protocol-attestation.md §2.2.
 */
public final class Dom0Signer {

    /** The exact value of the {@link SealiftOids#DOM0_HELD_KEY} extension (DER UTF8String). */
    public static final String STATEMENT = "dom0-held key, not hypervisor-protected";

    /** What a verifier says about every record or head such a key signed. */
    public static final String TRUST_LEVEL = "signed by a dom0-held key on an unpatched hypervisor: records what the"
            + " agents did, not what a hypervisor enforced";

    private Dom0Signer() {
    }

    /**
     * The agent's CSR for its dom0-held key: subject CN = host id, the Ed25519 key, signed by it (proof of
     * possession), and the {@link SealiftOids#DOM0_HELD_KEY} statement as a requested extension, so the request says
     * what it is. It carries no measurement: {@code ca enroll --host} without {@code --dom0-signer} refuses it.
     */
    public static byte[] createCsr(AttestationSigner key, String hostId) throws ProtocolException {
        Certificates.requireHostId(hostId);
        if (!Ed25519.isEd25519(key.publicKey())) {
            throw new IllegalArgumentException("dom0 signers are Ed25519, got " + key.publicKey().getAlgorithm());
        }
        try {
            Extensions ext = new Extensions(new Extension(SealiftOids.DOM0_HELD_KEY, true,
                    new DERUTF8String(STATEMENT).getEncoded()));
            return new PKCS10CertificationRequestBuilder(CertIssuer.name(hostId, null),
                    SubjectPublicKeyInfo.getInstance(key.publicKey().getEncoded()))
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext)
                    .build(Ed25519.contentSigner(key)).getEncoded();
        } catch (Ed25519.SignerFailure e) {
            throw e.protocolException();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode the dom0 signer CSR: " + e.getMessage(), e);
        }
    }

    /**
     * Checks a dom0 signer CSR for host {@code hostId}: canonical PKCS#10, Ed25519, CN = host id, the statement
     * requested, and proof of possession. Returns its key.
     */
    static PublicKey verifiedCsrKey(byte[] der, String hostId) throws ProtocolException {
        String what = "dom0 signer CSR for host " + hostId;
        PublicKey key = Csrs.verifiedPublicKey(der, what);
        PKCS10CertificationRequest req;
        try {
            req = new PKCS10CertificationRequest(der);
            if (!Arrays.equals(req.getEncoded(), der)) {
                throw new ProtocolException(Reason.MALFORMED, what + " is not in canonical DER");
            }
        } catch (IOException | RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, what + " is not a PKCS#10 request: " + e.getMessage(), e);
        }
        String cn = Certificates.cn(req.getSubject());
        if (!cn.equals(hostId)) {
            throw new ProtocolException(Reason.CERTIFICATE, what + " names host '" + cn + "'; enroll it as --host "
                    + cn + " or fetch the request of " + hostId);
        }
        try {
            Ed25519.publicKey(req.getSubjectPublicKeyInfo());
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, what + " does not carry an Ed25519 key", e);
        }
        boolean declared = false;
        for (Attribute a : req.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            try {
                Extension e = Extensions.getInstance(a.getAttrValues().getObjectAt(0))
                        .getExtension(SealiftOids.DOM0_HELD_KEY);
                declared |= e != null && e.isCritical() && STATEMENT.equals(
                        ASN1UTF8String.getInstance(e.getParsedValue()).getString());
            } catch (RuntimeException e) {
                throw new ProtocolException(Reason.MALFORMED, what + " has a malformed extension request", e);
            }
        }
        if (!declared) {
            throw new ProtocolException(Reason.CERTIFICATE, what + " does not declare a dom0-held key (extension "
                    + SealiftOids.DOM0_HELD_KEY + "); only a request written by 'sealift agent --enrollment-request'"
                    + " on a host without an attestation key is certified this way");
        }
        return key;
    }

    /** True if {@code der} is a well-formed, self-signed dom0 signer request for {@code hostId}. */
    public static boolean isRequestFor(byte[] der, String hostId) {
        try {
            verifiedCsrKey(der, hostId);
            return true;
        } catch (ProtocolException | RuntimeException e) {
            return false;
        }
    }

    /** True if the certificate is of the dom0 signer profile (role, EKU, critical statement); no chain check. */
    public static boolean isDom0Signer(X509Certificate cert) {
        return Certificates.role(cert).orElse(null) == Role.DOM0_SIGNER;
    }

    /** Null if {@code cert} has the whole dom0 signer profile, else what is wrong. */
    static String profileProblem(X509Certificate cert) {
        List<String> eku;
        try {
            eku = cert.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            eku = null;
        }
        if (eku == null || !eku.contains(SealiftOids.KP_DOM0_RECORD_SIGNING.getId())
                || eku.contains(SealiftOids.KP_ATTESTATION.getId())) {
            return "lacks the dom0 record-signing extended key usage (or also claims the attestation one)";
        }
        if (cert.getCriticalExtensionOIDs() == null
                || !cert.getCriticalExtensionOIDs().contains(SealiftOids.DOM0_HELD_KEY.getId())
                || !STATEMENT.equals(statement(cert))) {
            return "lacks the critical dom0-held-key statement";
        }
        if (Certificates.measurement(cert).isPresent()) {
            return "carries a hypervisor measurement, which a dom0-held key cannot vouch for";
        }
        if (Chains.isCa(cert) || !Ed25519.isEd25519(cert.getPublicKey())) {
            return "is a CA certificate or holds no Ed25519 key";
        }
        return null;
    }

    private static String statement(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(SealiftOids.DOM0_HELD_KEY.getId());
        if (ext == null) {
            return null;
        }
        try {
            return ASN1UTF8String.getInstance(ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext)
                    .getOctets())).getString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
