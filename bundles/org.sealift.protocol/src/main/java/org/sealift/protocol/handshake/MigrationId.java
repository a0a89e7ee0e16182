package org.sealift.protocol.handshake;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The 128-bit random id of one migration attempt. The source picks a fresh one for every handshake, so a retry is a
 * new migration and nothing from an earlier attempt (records, tokens, pages) can be replayed into it.
 */
public final class MigrationId {

    public static final int LENGTH = 16;

    private final byte[] bytes;

    private MigrationId(byte[] bytes) {
        this.bytes = bytes;
    }

    public static MigrationId random(SecureRandom random) {
        byte[] b = new byte[LENGTH];
        random.nextBytes(b);
        return new MigrationId(b);
    }

    public static MigrationId of(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a migration id is 16 bytes, got " + bytes.length);
        }
        return new MigrationId(bytes.clone());
    }

    /** Parses the 32-hex-digit form of {@link #toString()}. */
    public static MigrationId parse(String hex) {
        Objects.requireNonNull(hex, "hex");
        if (hex.length() != 2 * LENGTH) {
            throw new IllegalArgumentException("a migration id is 32 hex digits, got \"" + hex + "\"");
        }
        return new MigrationId(HexFormat.of().parseHex(hex));
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MigrationId && Arrays.equals(bytes, ((MigrationId) o).bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** 32 lowercase hex digits. */
    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }
}
