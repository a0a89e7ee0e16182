package org.sealift.agent.spi;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * A known byte string that a protected process writes into its pages (test option, {@link WorkloadSpec}), so a test
 * can scan dom0's memory for it: it must never appear there. The marker is derived from a seed with SHA-256, so only
 * the seed crosses the SPI; a scanner holds the marker masked with a random pad, so scanning a process never plants
 * the marker contiguously in the scanner's own memory.
 */
public final class SecretMarker {

    /** Marker = PREFIX + 32 hex digits of SHA-256(LABEL || seed) + '!'. */
    public static final int LENGTH = 48;
    private static final byte[] PREFIX = "SEALIFT-SECRET-".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LABEL = "sealift/secret-marker/v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final byte[] pad = new byte[LENGTH];
    private final byte[] masked = new byte[LENGTH];

    private SecretMarker(long seed) {
        new SecureRandom().nextBytes(pad);
        byte[] digest = digest(seed);
        for (int i = 0; i < LENGTH; i++) {
            masked[i] = (byte) (markerByte(digest, i) ^ pad[i]);
        }
    }

    public static SecretMarker forSeed(long seed) {
        return new SecretMarker(seed);
    }

    private static byte[] digest(long seed) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(LABEL);
            md.update(ByteBuffer.allocate(8).putLong(seed).array());
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static byte markerByte(byte[] digest, int i) {
        if (i < PREFIX.length) {
            return PREFIX[i];
        }
        int h = i - PREFIX.length;
        if (h < 32) {
            int b = digest[h >>> 1] & 0xff;
            return HEX[(h & 1) == 0 ? b >>> 4 : b & 0xf];
        }
        return '!';
    }

    /** Writes the marker itself: only for the protected process inside the hypervisor. */
    public static void writeTo(long seed, ByteBuffer dst) {
        byte[] digest = digest(seed);
        for (int i = 0; i < LENGTH; i++) {
            dst.put(markerByte(digest, i));
        }
    }

    /** Index of the first occurrence in {@code buf[from, to)}, or -1. Compares through the pad. */
    public int indexIn(byte[] buf, int from, int to) {
        byte first = masked[0];
        byte firstPad = pad[0];
        outer:
        for (int i = from; i <= to - LENGTH; i++) {
            if ((byte) (buf[i] ^ firstPad) != first) {
                continue;
            }
            for (int k = 1; k < LENGTH; k++) {
                if ((byte) (buf[i + k] ^ pad[k]) != masked[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Index (relative to its position) of the first occurrence in the remaining bytes of {@code buf}, or -1. */
    public int indexIn(ByteBuffer buf) {
        int base = buf.position();
        int end = buf.limit();
        byte first = masked[0];
        byte firstPad = pad[0];
        outer:
        for (int i = base; i <= end - LENGTH; i++) {
            if ((byte) (buf.get(i) ^ firstPad) != first) {
                continue;
            }
            for (int k = 1; k < LENGTH; k++) {
                if ((byte) (buf.get(i + k) ^ pad[k]) != masked[k]) {
                    continue outer;
                }
            }
            return i - base;
        }
        return -1;
    }

    /** True if the marker occurs in the remaining bytes of {@code buf} (position unchanged). */
    public boolean occursIn(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate();
        byte[] chunk = new byte[1 << 16];
        int carry = 0;
        while (b.hasRemaining()) {
            int n = Math.min(chunk.length - carry, b.remaining());
            b.get(chunk, carry, n);
            int end = carry + n;
            if (indexIn(chunk, 0, end) >= 0) {
                return true;
            }
            // keep the tail so a marker spanning two chunks is still found
            carry = Math.min(LENGTH - 1, end);
            System.arraycopy(chunk, end - carry, chunk, 0, carry);
        }
        return false;
    }
}
