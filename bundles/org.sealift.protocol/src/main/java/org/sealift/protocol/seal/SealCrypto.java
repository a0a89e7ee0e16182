package org.sealift.protocol.seal;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.UUID;
import javax.crypto.Cipher;
import org.sealift.protocol.handshake.MigrationId;

/** Nonce and AAD of SEALED records (docs/protocol.md §4.2.1), shared by {@link Sealer} and {@link Opener}. */
final class SealCrypto {

    static final String TRANSFORMATION = "AES/GCM/NoPadding";
    static final int TAG_BITS = 128;
    static final int AAD_LENGTH = 53;

    private SealCrypto() {
    }

    /** migration id ‖ VM id: the session part of every AAD, computed once. */
    static byte[] sessionPart(MigrationId migrationId, UUID vmId) {
        return ByteBuffer.allocate(32).put(migrationId.bytes()).putLong(vmId.getMostSignificantBits())
                .putLong(vmId.getLeastSignificantBits()).array();
    }

    /** prefix(kind) u32 ‖ counter u64. */
    static byte[] nonce(SealKind kind, long counter) {
        byte[] n = new byte[12];
        ByteBuffer.wrap(n).putInt(kind.noncePrefix()).putLong(counter);
        return n;
    }

    /** kind u8 ‖ migration id ‖ VM id ‖ process id u32 ‖ target u64 ‖ version u64. */
    static byte[] aad(SealKind kind, byte[] sessionPart, int processId, long target, long version) {
        byte[] a = new byte[AAD_LENGTH];
        ByteBuffer.wrap(a).put((byte) kind.wire()).put(sessionPart).putInt(processId).putLong(target)
                .putLong(version);
        return a;
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
