package org.sealift.agent.spi;

import java.util.Arrays;
import java.util.HexFormat;

/** A migration's 128-bit id, chosen at random by the source hypervisor for each handshake. */
public final class MigrationId {

    public static final int LENGTH = 16;

    private final byte[] bytes;

    private MigrationId(byte[] bytes) {
        this.bytes = bytes;
    }

    public static MigrationId of(byte[] bytes) {
        if (bytes == null || bytes.length != LENGTH) {
            throw new IllegalArgumentException("a migration id is " + LENGTH + " bytes, got "
                    + (bytes == null ? "none" : bytes.length));
        }
        return new MigrationId(bytes.clone());
    }

    /** Parses the 32 hex digits printed by {@link #toString()} (as operators type them for token export). */
    public static MigrationId parse(String hex) {
        try {
            return of(HexFormat.of().parseHex(hex.trim()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + hex + "\" is not a migration id: give its 32 hex digits", e);
        }
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MigrationId m && Arrays.equals(bytes, m.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }
}
