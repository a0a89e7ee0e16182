package org.sealift.protocol.handshake;

import java.util.Arrays;

/**
 * Overwrites secret byte arrays once they are no longer needed.
 *
 * <p>This is best effort, and the limits are those of the JVM: the garbage collector may already have copied an
 * array before it is cleared; JCE providers keep their own copies (expanded AES key schedules, HMAC pads) and the
 * JDK's X25519 private keys cannot be destroyed at all; {@code String}s and {@code BigInteger}s cannot be cleared.
 * What we can do is keep secrets in {@code byte[]} we own, keep them short-lived, and clear our copies, so that a
 * heap dump taken after a migration holds as little as possible.
 */
final class Zeroize {

    private Zeroize() {
    }

    static void all(byte[]... arrays) {
        for (byte[] a : arrays) {
            if (a != null) {
                Arrays.fill(a, (byte) 0);
            }
        }
    }
}
