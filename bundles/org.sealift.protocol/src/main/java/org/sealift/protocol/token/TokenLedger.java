package org.sealift.protocol.token;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;

/**
 * Remembers the verified tokens a host has received, one per {@link Token.Id} (kind + migration id), so that a
 * duplicate is visible to the caller: a RELEASE presented twice (re-served after a lost record, or replayed by dom0)
 * is reported as {@link Receipt#duplicate()} and must not start a second resume. A different token with the same
 * identity is refused (REPLAY): a hypervisor signs one decision of each kind per migration.
 *
 * <p>The ledger is in memory. What must survive a restart (RELEASE issued, RESUMING recorded) belongs in the
 * hypervisor's sealed state; the engine feeds that state back with {@link #record} after a restart. Thread-safe.
 */
public final class TokenLedger {

    /** The outcome of recording a token. */
    public record Receipt(VerifiedToken token, boolean duplicate) {
    }

    private final Map<Token.Id, VerifiedToken> tokens = new HashMap<>();

    /**
     * Records a verified token. {@code duplicate()} is true iff the identical token was recorded before.
     *
     * @throws ProtocolException REPLAY if another token with the same kind and migration id was recorded
     */
    public synchronized Receipt record(VerifiedToken verified) throws ProtocolException {
        Token t = verified.token();
        VerifiedToken earlier = tokens.get(t.id());
        if (earlier == null) {
            tokens.put(t.id(), verified);
            return new Receipt(verified, false);
        }
        if (earlier.token().equals(t)) {
            return new Receipt(earlier, true);
        }
        throw new ProtocolException(Reason.REPLAY, "a second, different " + t.id() + " was presented (signed by host "
                + verified.signer().hostId() + "); the first one stands: " + earlier);
    }

    /** The recorded token of {@code kind} for {@code migrationId}, if any. */
    public synchronized Optional<VerifiedToken> find(TokenKind kind, MigrationId migrationId) {
        return Optional.ofNullable(tokens.get(new Token.Id(kind, migrationId)));
    }

    public synchronized boolean contains(TokenKind kind, MigrationId migrationId) {
        return tokens.containsKey(new Token.Id(kind, migrationId));
    }
}
