package org.sealift.protocol;

import java.security.KeyPair;
import java.security.PublicKey;
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
        PublicKey pub = keyPair.getPublic();
        org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters priv;
        try {
            priv = Ed25519Signatures.privateKey(keyPair.getPrivate());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("an attestation key is an Ed25519 key pair: " + e.getMessage(), e);
        }
        return new AttestationSigner() {
            @Override
            public PublicKey publicKey() {
                return pub;
            }

            @Override
            public byte[] sign(byte[] message) {
                return Ed25519Signatures.sign(priv, message);
            }
        };
    }

    /** Verifies an Ed25519 signature; false (never an exception) for a wrong key, message or signature. */
    static boolean verify(PublicKey key, byte[] message, byte[] signature) {
        return Ed25519Signatures.verify(key, message, signature);
    }
}
