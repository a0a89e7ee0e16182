package org.sealift.protocol.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/** Reading Sealift facts out of X.509 certificates: role, measurement, host id, fingerprint; chain (de)coding. */
public final class Certificates {

    /** Host ids name hypervisors in certificates, policies and records: short, printable, no spaces. */
    private static final Pattern HOST_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** A chain on the wire is short; more than this is an attack on the parser, not a real chain. */
    public static final int MAX_CHAIN_LENGTH = 8;
    public static final int MAX_CERTIFICATE_BYTES = 16 * 1024;

    public static final int MEASUREMENT_BYTES = 32;
    public static final int FINGERPRINT_BYTES = 32;

    private Certificates() {
    }

    public static boolean isValidHostId(String hostId) {
        return hostId != null && HOST_ID.matcher(hostId).matches();
    }

    public static String requireHostId(String hostId) {
        if (!isValidHostId(hostId)) {
            throw new IllegalArgumentException("host id \"" + hostId
                    + "\" is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return hostId;
    }

    /** SHA-256 of the DER SubjectPublicKeyInfo: the AK fingerprint used in policies, fences and records. */
    public static byte[] fingerprint(PublicKey key) {
        return Ed25519.sha256(key.getEncoded());
    }

    public static byte[] fingerprint(X509Certificate cert) {
        return fingerprint(cert.getPublicKey());
    }

    public static X509Certificate parse(byte[] der) throws ProtocolException {
        if (der.length > MAX_CERTIFICATE_BYTES) {
            throw new ProtocolException(Reason.MALFORMED,
                    "certificate is " + der.length + " bytes, limit " + MAX_CERTIFICATE_BYTES);
        }
        try {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            // generateCertificate accepts trailing data and PEM; the wire form is exactly one DER certificate
            if (!Arrays.equals(c.getEncoded(), der)) {
                throw new ProtocolException(Reason.MALFORMED, "certificate bytes are not exactly one DER certificate");
            }
            return c;
        } catch (CertificateException | RuntimeException e) {
            throw new ProtocolException(Reason.MALFORMED, "not a valid X.509 certificate: " + e.getMessage(), e);
        }
    }

    public static List<X509Certificate> parseChain(List<byte[]> ders) throws ProtocolException {
        if (ders.isEmpty()) {
            throw new ProtocolException(Reason.UNATTESTED, "no certificate chain was presented");
        }
        if (ders.size() > MAX_CHAIN_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED,
                    "certificate chain has " + ders.size() + " entries, limit " + MAX_CHAIN_LENGTH);
        }
        List<X509Certificate> out = new ArrayList<>();
        for (byte[] d : ders) {
            out.add(parse(d));
        }
        return out;
    }

    public static byte[] encode(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("certificate cannot be encoded: " + e.getMessage(), e);
        }
    }

    public static List<byte[]> encodeChain(List<X509Certificate> chain) {
        List<byte[]> out = new ArrayList<>();
        for (X509Certificate c : chain) {
            out.add(encode(c));
        }
        return out;
    }

    /** PEM text of one or more certificates, leaf first. */
    public static String toPem(List<X509Certificate> certs) {
        List<Pem.Block> blocks = new ArrayList<>();
        for (X509Certificate c : certs) {
            blocks.add(new Pem.Block(Pem.CERTIFICATE, encode(c)));
        }
        return Pem.encode(blocks);
    }

    public static List<X509Certificate> fromPem(String text) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        for (Pem.Block b : Pem.decode(text)) {
            if (Pem.CERTIFICATE.equals(b.type())) {
                try {
                    out.add(parse(b.content()));
                } catch (ProtocolException e) {
                    throw new IOException(e.getMessage(), e);
                }
            }
        }
        return out;
    }

    public static void write(Path file, List<X509Certificate> certs) throws IOException {
        List<Pem.Block> blocks = new ArrayList<>();
        for (X509Certificate c : certs) {
            blocks.add(new Pem.Block(Pem.CERTIFICATE, encode(c)));
        }
        Pem.write(file, blocks);
    }

    /** All certificates in a PEM file; an IOException if there are none. */
    public static List<X509Certificate> read(Path file) throws IOException {
        List<X509Certificate> out = fromPem(java.nio.file.Files.readString(file));
        if (out.isEmpty()) {
            throw new IOException(file + " holds no PEM certificate");
        }
        return out;
    }

    /** The Sealift role extension, if present and known. */
    public static Optional<Role> role(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(SealiftOids.ROLE.getId());
        if (ext == null) {
            return Optional.empty();
        }
        try {
            ASN1Primitive inner = ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets());
            return Role.ofLabel(ASN1UTF8String.getInstance(inner).getString());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The 32-byte measurement extension, if present and well-formed. */
    public static Optional<byte[]> measurement(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(SealiftOids.MEASUREMENT.getId());
        if (ext == null) {
            return Optional.empty();
        }
        try {
            byte[] m = ASN1OctetString.getInstance(
                    ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets())).getOctets();
            return m.length == MEASUREMENT_BYTES ? Optional.of(m) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The subject common name (the host id for AK, EK and TLS certificates), or "" if there is none. */
    public static String subjectCn(X509Certificate cert) {
        return cn(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()));
    }

    static String cn(X500Name name) {
        RDN[] rdns = name.getRDNs(BCStyle.CN);
        if (rdns.length == 0 || rdns[0].getFirst() == null) {
            return "";
        }
        return IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }

    /** "CN=h2" for messages. */
    public static String describe(X509Certificate cert) {
        String cn = subjectCn(cert);
        return cn.isEmpty() ? cert.getSubjectX500Principal().getName() : "CN=" + cn;
    }
}
