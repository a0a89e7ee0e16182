package org.sealift.protocol.seal;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.sealift.protocol.handshake.MigrationId;

/** Fixed identities and keys shared by the sealing tests. */
final class Fixtures {

    static final byte[] KEY_BYTES = new byte[32];
    static {
        for (int i = 0; i < 32; i++) {
            KEY_BYTES[i] = (byte) i;
        }
    }
    static final SecretKey KEY = new SecretKeySpec(KEY_BYTES, "AES");
    static final MigrationId MIGRATION = MigrationId.of(HexFormat.of().parseHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
    static final MigrationId EARLIER_MIGRATION = MigrationId.of(
            HexFormat.of().parseHex("0f0e0d0c0b0a09080706050403020100"));
    static final UUID VM = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
    static final UUID OTHER_VM = UUID.fromString("ffeeddcc-bbaa-9988-7766-554433221100");

    private Fixtures() {
    }

    /** A page whose every octet depends on {@code seed}, so two pages never look alike. */
    static byte[] page(int seed) {
        byte[] p = new byte[4096];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) (i % 251 + seed);
        }
        return p;
    }

    static byte[] fill(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    /** A copy of {@code blob}'s body with {@code edit} applied, decoded again as dom0 would forward it. */
    static SealedBlob edited(SealedBlob blob, java.util.function.Consumer<byte[]> edit) throws Exception {
        byte[] body = blob.body();
        edit.accept(body);
        return SealedBlob.decode(body);
    }
}
