package org.sealift.protocol.control;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;

/** Nonce and AAD of control records (docs/protocol.md §5), shared by sender and receiver. */
final class ControlCrypto {

    static final String TRANSFORMATION = "AES/GCM/NoPadding";
    static final int TAG_BITS = 128;

    private ControlCrypto() {
    }

    /** direction u32 ‖ sequence u64; the direction is the sender's role (1 source, 2 destination). */
    static byte[] nonce(Role sender, long sequence) {
        return ByteBuffer.allocate(12).putInt(sender.wire()).putLong(sequence).array();
    }

    /** type u32 ‖ sequence u64 ‖ migration id. */
    static byte[] aad(RecordType type, long sequence, MigrationId migrationId) {
        return ByteBuffer.allocate(28).putInt(type.code()).putLong(sequence).put(migrationId.bytes()).array();
    }

    static Cipher newCipher() {
        try {
            // the JDK provider by name (AES-NI / CLMUL intrinsics), even if someone registered BouncyCastle first:
            // its pure-Java AES is several times slower
            return Cipher.getInstance(TRANSFORMATION, "SunJCE");
        } catch (java.security.NoSuchProviderException e) {
            try {
                return Cipher.getInstance(TRANSFORMATION);
            } catch (GeneralSecurityException e2) {
                throw new IllegalStateException("this JDK has no " + TRANSFORMATION
                        + "; Sealift needs a standard JDK 17+", e2);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no " + TRANSFORMATION + "; Sealift needs a standard JDK 17+",
                    e);
        }
    }
}
