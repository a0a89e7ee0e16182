package org.sealift.protocol.seal;

import java.security.GeneralSecurityException;
import java.util.Objects;
import java.util.UUID;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;

/**
 * Destination-hypervisor side of sealing (docs/protocol.md §4.2.2): authenticates and decrypts SEALED records. The
 * AAD is rebuilt from this session's own migration id and VM id and the record's kind, process id, target and
 * version, so a changed byte, a swapped pfn or vCPU id, another process's or VM's page, or a page from an earlier
 * migration all fail as TAMPERED. Thread-safe.
 */
public final class Opener {

    private final SecretKey key;
    private final MigrationId migrationId;
    private final UUID vmId;
    private final byte[] sessionPart;
    private final ThreadLocal<Cipher> cipher = ThreadLocal.withInitial(SealCrypto::newCipher);

    public Opener(SecretKey sealingKey, MigrationId migrationId, UUID vmId) {
        this.key = Objects.requireNonNull(sealingKey, "sealingKey");
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
        this.vmId = Objects.requireNonNull(vmId, "vmId");
        this.sessionPart = SealCrypto.sessionPart(migrationId, vmId);
    }

    public MigrationId migrationId() {
        return migrationId;
    }

    public UUID vmId() {
        return vmId;
    }

    /** The plaintext of {@code blob}, or TAMPERED. */
    public byte[] open(SealedBlob blob) throws ProtocolException {
        byte[] out = new byte[blob.ciphertextLength()];
        open(blob, out, 0);
        return out;
    }

    /** Decrypts {@code blob} into {@code out} at {@code offset}; the range is zeroed if it does not authenticate. */
    public void open(SealedBlob blob, byte[] out, int offset) throws ProtocolException {
        Objects.checkFromIndexSize(offset, blob.ciphertextLength(), out.length);
        byte[] body = blob.bodyArray();
        Cipher c = cipher.get();
        try {
            c.init(Cipher.DECRYPT_MODE, key,
                    new GCMParameterSpec(SealCrypto.TAG_BITS, SealCrypto.nonce(blob.kind(), blob.counter())));
            c.updateAAD(SealCrypto.aad(blob.kind(), sessionPart, blob.processId(), blob.target(), blob.version()));
            c.doFinal(body, blob.bodyOffset() + SealedBlob.HEADER_LENGTH,
                    blob.bodyLength() - SealedBlob.HEADER_LENGTH, out, offset);
        } catch (AEADBadTagException e) {
            // whatever a provider may have written is unauthenticated: the caller must never see it
            java.util.Arrays.fill(out, offset, offset + blob.ciphertextLength(), (byte) 0);
            throw new ProtocolException(Reason.TAMPERED, blob + " does not authenticate for migration "
                    + migrationId + " of VM " + vmId + ": its ciphertext, tag, kind, process, "
                    + (blob.kind() == SealKind.PAGE ? "pfn" : "vCPU id")
                    + " or version was changed, or it was sealed for another migration, VM or process", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot open " + blob + " (was the session closed?): " + e.getMessage(),
                    e);
        }
    }
}
