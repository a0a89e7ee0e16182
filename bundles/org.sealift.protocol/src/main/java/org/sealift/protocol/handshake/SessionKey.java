package org.sealift.protocol.handshake;

import java.util.Arrays;
import java.util.Objects;
import javax.crypto.SecretKey;

/**
 * A 256-bit key that can really be destroyed: {@link #destroy()} overwrites the only array this object holds.
 * {@link javax.crypto.spec.SecretKeySpec} cannot do that on Java 17 (its destroy() throws), which is why the
 * session keys use this class. Copies handed out by {@link #getEncoded()} (e.g. to a JCE provider) belong to the
 * caller.
 */
final class SessionKey implements SecretKey {

    private static final long serialVersionUID = 1L;

    private final String algorithm;
    private final byte[] key;
    private volatile boolean destroyed;

    /** Takes ownership of {@code key}. */
    SessionKey(String algorithm, byte[] key) {
        this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        this.key = Objects.requireNonNull(key, "key");
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("the " + algorithm + " session key was destroyed when its session ended");
        }
        return key.clone();
    }

    @Override
    public void destroy() {
        Arrays.fill(key, (byte) 0);
        destroyed = true;
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    private void writeObject(java.io.ObjectOutputStream out) throws java.io.NotSerializableException {
        // a serialized key is a key on disk: session keys are never persisted
        throw new java.io.NotSerializableException("session keys are never serialized");
    }

    @Override
    public String toString() {
        // never the key bytes: keys must not end up in logs
        return "SessionKey[" + algorithm + (destroyed ? ", destroyed]" : "]");
    }
}
