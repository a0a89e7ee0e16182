package org.sealift.protocol;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;

/**
 * Signs with a hypervisor's attestation key (Ed25519). The private key never leaves the hypervisor:
 * protocol code that needs an AK signature (handshake, commit tokens, attestation records, log heads)
 * receives this interface, which the hypervisor implements; the agent can only ask, never hold the key.
 */
public interface AttestationSigner {

    /** The AK public key, as certified by the cluster CA. */
    PublicKey publicKey();

    /** An Ed25519 signature over {@code message}. */
    byte[] sign(byte[] message) throws ProtocolException;

    /** A signer over a key pair held in this process (used inside the hypervisor and in tests). */
    static AttestationSigner of(KeyPair keyPair) {
        Objects.requireNonNull(keyPair, "keyPair");
        PrivateKey priv = keyPair.getPrivate();
        PublicKey pub = keyPair.getPublic();
        return new AttestationSigner() {
            @Override
            public PublicKey publicKey() {
                return pub;
            }

            @Override
            public byte[] sign(byte[] message) throws ProtocolException {
                try {
                    Signature s = Signature.getInstance("Ed25519");
                    s.initSign(priv);
                    s.update(message);
                    return s.sign();
                } catch (GeneralSecurityException e) {
                    throw new ProtocolException(ProtocolException.Reason.MALFORMED,
                            "cannot sign with the attestation key: " + e.getMessage(), e);
                }
            }
        };
    }

    /** Verifies an Ed25519 signature; false (never an exception) for a wrong key, message or signature. */
    static boolean verify(PublicKey key, byte[] message, byte[] signature) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }
}
