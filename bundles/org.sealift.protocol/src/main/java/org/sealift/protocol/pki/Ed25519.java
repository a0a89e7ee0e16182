package org.sealift.protocol.pki;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.EdECKey;
import java.security.spec.X509EncodedKeySpec;

import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.Ed25519Signatures;
import org.sealift.protocol.ProtocolException;

/** Ed25519 keys from the JDK provider, signatures through {@link Ed25519Signatures}, and the glue for BouncyCastle builders. */
final class Ed25519 {

    static final AlgorithmIdentifier ALGORITHM = new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519);

    private Ed25519() {
    }

    static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks Ed25519 (needs Java 15+)", e);
        }
    }

    static byte[] sign(PrivateKey key, byte[] message) {
        try {
            return Ed25519Signatures.sign(key, message);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cannot sign with Ed25519 key: " + e.getMessage(), e);
        }
    }

    static boolean verify(PublicKey key, byte[] message, byte[] signature) {
        return AttestationSigner.verify(key, message, signature);
    }

    static boolean isEd25519(PublicKey key) {
        return key instanceof EdECKey ed && "Ed25519".equalsIgnoreCase(ed.getParams().getName());
    }

    static PublicKey publicKey(SubjectPublicKeyInfo spki) throws GeneralSecurityException {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki.getEncoded()));
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException("cannot encode public key info", e);
        }
    }

    static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(p);
            }
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A BouncyCastle ContentSigner over a local private key. */
    static ContentSigner contentSigner(PrivateKey key) {
        return new BufferingSigner() {
            @Override
            byte[] signBytes(byte[] data) {
                return sign(key, data);
            }
        };
    }

    /** A BouncyCastle ContentSigner that asks the hypervisor to sign: the AK itself never reaches this code. */
    static ContentSigner contentSigner(AttestationSigner ak) {
        return new BufferingSigner() {
            @Override
            byte[] signBytes(byte[] data) {
                try {
                    return ak.sign(data);
                } catch (ProtocolException e) {
                    throw new SignerFailure(e);
                }
            }
        };
    }

    /** Carries a ProtocolException out of BouncyCastle's ContentSigner, which cannot throw checked exceptions. */
    static final class SignerFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SignerFailure(ProtocolException cause) {
            super(cause);
        }

        ProtocolException protocolException() {
            return (ProtocolException) getCause();
        }
    }

    private abstract static class BufferingSigner implements ContentSigner {
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

        abstract byte[] signBytes(byte[] data);

        @Override
        public AlgorithmIdentifier getAlgorithmIdentifier() {
            return ALGORITHM;
        }

        @Override
        public OutputStream getOutputStream() {
            return buffer;
        }

        @Override
        public byte[] getSignature() {
            return signBytes(buffer.toByteArray());
        }
    }
}
