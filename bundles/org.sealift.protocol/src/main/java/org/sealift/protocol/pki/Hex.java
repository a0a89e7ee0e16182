package org.sealift.protocol.pki;

/** Lower-case hex for fingerprints, measurements and ids in files and messages. */
public final class Hex {

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {
    }

    public static String encode(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = DIGITS[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = DIGITS[bytes[i] & 0xf];
        }
        return new String(out);
    }

    /** The first 4 bytes and an ellipsis, as people quote ids in messages ("3fa9c2d1…"). */
    public static String abbrev(byte[] bytes) {
        if (bytes.length <= 4) {
            return encode(bytes);
        }
        byte[] head = new byte[4];
        System.arraycopy(bytes, 0, head, 0, 4);
        return encode(head) + "\u2026";
    }

    /** Parses hex (either case); throws IllegalArgumentException naming the problem. */
    public static byte[] decode(String hex) {
        String s = hex.strip();
        if (s.length() % 2 != 0) {
            throw new IllegalArgumentException("hex string has an odd number of digits: " + s.length());
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16);
            int lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a hex digit at position " + (hi < 0 ? 2 * i : 2 * i + 1));
            }
            out[i] = (byte) ((hi << 4) | lo);
        }
        return out;
    }

    /** Decodes and requires an exact length (32 for measurements and fingerprints, 16 for migration ids). */
    public static byte[] decode(String hex, int length, String what) {
        byte[] b = decode(hex);
        if (b.length != length) {
            throw new IllegalArgumentException(what + " must be " + length + " bytes (" + 2 * length
                    + " hex digits), got " + b.length + " bytes");
        }
        return b;
    }
}
