package org.sealift.protocol.control;

import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
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
 * Opens the control records the peer sends, in strictly consecutive sequence order (docs/protocol.md §5): a lower
 * sequence is a replay or duplicate, a higher one means a record was dropped or reordered, a failing tag means the
 * record was changed. The first failure is final: the migration aborts, and every later record is refused with it.
 */
public final class ControlReceiver {

    private final SecretKey key;
    private final Role sender;
    private final MigrationId migrationId;
    private final Cipher cipher = ControlCrypto.newCipher();
    private long expected;
    private ProtocolException failure;

    /**
     * @param key         the control key of the peer's direction
     * @param sender      the peer's role (who sends the records this receiver opens)
     * @param migrationId the session's migration id
     */
    public ControlReceiver(SecretKey key, Role sender, MigrationId migrationId) {
        this.key = Objects.requireNonNull(key, "key");
        this.sender = Objects.requireNonNull(sender, "sender");
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
    }

    /** Checks sequence and tag of {@code record} and returns its plaintext. */
    public synchronized byte[] open(WireRecord record) throws ProtocolException {
        if (failure != null) {
            throw new ProtocolException(failure.reason(), "the control channel from the " + sender
                    + " already failed, refusing " + record + ": " + failure.getMessage(), failure);
        }
        try {
            return check(record);
        } catch (ProtocolException e) {
            failure = e;
            throw e;
        }
    }

    private byte[] check(WireRecord record) throws ProtocolException {
        RecordType type = record.type();
        if (!type.isControl()) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, type + " is not a control record");
        }
        if (sender == Role.SOURCE ? !type.sentBySource() : !type.sentByDestination()) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD,
                    type + " arrived from the " + sender + ", which never sends it");
        }
        long seq = record.sequence();
        if (Long.compareUnsigned(seq, expected) < 0) {
            throw new ProtocolException(Reason.REPLAY, type + " carries control sequence "
                    + Long.toUnsignedString(seq) + " but " + Long.toUnsignedString(expected)
                    + " is next: it is a duplicate or a replay of an earlier control record");
        }
        if (seq != expected) {
            throw new ProtocolException(Reason.REORDERED, type + " carries control sequence "
                    + Long.toUnsignedString(seq) + " but " + Long.toUnsignedString(expected)
                    + " is next: a control record was dropped or the records were reordered");
        }
        byte[] plaintext;
        try {
            cipher.init(Cipher.DECRYPT_MODE, key,
                    new GCMParameterSpec(ControlCrypto.TAG_BITS, ControlCrypto.nonce(sender, seq)));
            cipher.updateAAD(ControlCrypto.aad(type, seq, migrationId));
            plaintext = cipher.doFinal(record.body());
        } catch (AEADBadTagException e) {
            throw new ProtocolException(Reason.TAMPERED, type + " with control sequence "
                    + Long.toUnsignedString(seq) + " does not authenticate under migration " + migrationId
                    + ": its bytes, type or sequence were changed, or it belongs to another migration", e);
        } catch (GeneralSecurityException | IllegalStateException e) {
            throw new ProtocolException(Reason.TAMPERED, "cannot open " + type + " with the " + sender
                    + " control key (was the session closed?): " + e.getMessage(), e);
        }
        expected++;
        return plaintext;
    }

    /** The sequence number the next control record must carry. */
    public synchronized long expectedSequence() {
        return expected;
    }

    public Role sender() {
        return sender;
    }
}
