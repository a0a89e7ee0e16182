package org.sealift.protocol.control;

import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/**
 * Seals the control records one hypervisor sends (MANIFEST, READY, RELEASE, DONE, ABORT) with its direction's control
 * key, numbering them 0, 1, 2, … (docs/protocol.md §5). Lives in the hypervisor: the agent only carries the result.
 */
public final class ControlSender {

    private final SecretKey key;
    private final Role sender;
    private final MigrationId migrationId;
    private final Cipher cipher = ControlCrypto.newCipher();
    private long next;

    /**
     * @param key         the control key of {@code sender}'s direction
     * @param sender      which end this hypervisor is
     * @param migrationId the session's migration id
     */
    public ControlSender(SecretKey key, Role sender, MigrationId migrationId) {
        this.key = Objects.requireNonNull(key, "key");
        this.sender = Objects.requireNonNull(sender, "sender");
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
    }

    /** Encrypts {@code plaintext} as the next control record of type {@code type}. */
    public synchronized WireRecord seal(RecordType type, byte[] plaintext) throws ProtocolException {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(plaintext, "plaintext");
        if (!type.isControl()) {
            throw new IllegalArgumentException(type + " is not a control record");
        }
        if (sender == Role.SOURCE ? !type.sentBySource() : !type.sentByDestination()) {
            throw new IllegalArgumentException("the " + sender + " never sends " + type);
        }
        if (!type.acceptsLength((long) plaintext.length + RecordType.GCM_TAG_LENGTH)) {
            throw new IllegalArgumentException(type + " plaintext of " + plaintext.length
                    + " octets does not fit the record's length rules");
        }
        if (next == -1L) {
            throw new ProtocolException(Reason.EXHAUSTED, "control sequence of the " + sender
                    + " would wrap; the migration must restart with a new handshake");
        }
        long sequence = next;
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key,
                    new GCMParameterSpec(ControlCrypto.TAG_BITS, ControlCrypto.nonce(sender, sequence)));
            cipher.updateAAD(ControlCrypto.aad(type, sequence, migrationId));
            byte[] body = cipher.doFinal(plaintext);
            next++;
            return new WireRecord(type, sequence, body);
        } catch (GeneralSecurityException e) {
            // only a closed session (destroyed key) or a JDK without AES-GCM gets here: a bug, not an attack
            throw new IllegalStateException("cannot seal " + type + " with the " + sender
                    + " control key (was the session closed?): " + e.getMessage(), e);
        }
    }

    /** The sequence number the next sealed record will carry. */
    public synchronized long nextSequence() {
        return next;
    }

    public Role sender() {
        return sender;
    }
}
