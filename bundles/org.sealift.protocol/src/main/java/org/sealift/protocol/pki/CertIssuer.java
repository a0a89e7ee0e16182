package org.sealift.protocol.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;

/** Builds the certificates of every Sealift role, so that role, key usage and EKU always agree. */
final class CertIssuer {

    private static final SecureRandom RANDOM = new SecureRandom();

    private CertIssuer() {
    }

    static X500Name name(String cn, String organization) {
        X500NameBuilder b = new X500NameBuilder(BCStyle.INSTANCE);
        if (organization != null) {
            b.addRDN(BCStyle.O, organization);
        }
        b.addRDN(BCStyle.CN, cn);
        return b.build();
    }

    static X500Name nameOf(X509Certificate cert) {
        return X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
    }

    static GeneralNames hostNames(String hostId, boolean withDns) {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:sealift:host:" + hostId));
        if (withDns) {
            names.add(new GeneralName(GeneralName.dNSName, hostId));
        }
        return new GeneralNames(names.toArray(new GeneralName[0]));
    }

    /** Everything a certificate needs; extras are non-critical Sealift extensions (measurement). */
    static X509Certificate issue(X500Name issuer, PrivateKey issuerKey, X500Name subject, PublicKey subjectKey,
            Instant notBefore, Instant notAfter, Role role, GeneralNames san, byte[] measurement) {
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("certificate validity must end after it starts");
        }
        try {
            byte[] serial = new byte[16];
            RANDOM.nextBytes(serial);
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(issuer, new BigInteger(1, serial),
                    Date.from(notBefore.truncatedTo(ChronoUnit.SECONDS)),
                    Date.from(notAfter.truncatedTo(ChronoUnit.SECONDS)), subject,
                    SubjectPublicKeyInfo.getInstance(subjectKey.getEncoded()));
            boolean ca = role == Role.CLUSTER_CA || role == Role.VENDOR_ROOT;
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage(role)));
            KeyPurposeId[] eku = extendedKeyUsage(role);
            if (eku.length > 0) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(eku));
            }
            b.addExtension(SealiftOids.ROLE, false, new DERUTF8String(role.label()));
            if (san != null) {
                b.addExtension(Extension.subjectAlternativeName, false, san);
            }
            if (measurement != null) {
                b.addExtension(SealiftOids.MEASUREMENT, false, new DEROctetString(measurement));
            }
            if (role == Role.DOM0_SIGNER) {
                b.addExtension(SealiftOids.DOM0_HELD_KEY, true, new DERUTF8String(Dom0Signer.STATEMENT));
            }
            return new JcaX509CertificateConverter().getCertificate(b.build(Ed25519.contentSigner(issuerKey)));
        } catch (IOException | CertificateException e) {
            throw new IllegalStateException("cannot build a " + role.label() + " certificate: " + e.getMessage(), e);
        }
    }

    private static int keyUsage(Role role) {
        return switch (role) {
            case CLUSTER_CA, VENDOR_ROOT -> KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature;
            default -> KeyUsage.digitalSignature;
        };
    }

    private static KeyPurposeId[] extendedKeyUsage(Role role) {
        return switch (role) {
            case ATTESTATION_KEY -> new KeyPurposeId[] {purpose(SealiftOids.KP_ATTESTATION)};
            case ENDORSEMENT_KEY -> new KeyPurposeId[] {purpose(SealiftOids.KP_ENDORSEMENT)};
            case POLICY_SIGNER -> new KeyPurposeId[] {purpose(SealiftOids.KP_POLICY)};
            case DOM0_SIGNER -> new KeyPurposeId[] {purpose(SealiftOids.KP_DOM0_RECORD_SIGNING)};
            case AGENT_TLS -> new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth};
            case OPERATOR -> new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth};
            default -> new KeyPurposeId[0];
        };
    }

    private static KeyPurposeId purpose(ASN1ObjectIdentifier oid) {
        return KeyPurposeId.getInstance(oid);
    }
}
