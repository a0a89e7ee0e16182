package org.sealift.protocol;

import java.util.Objects;

/**
 * A protocol check failed. Every failure carries a {@link Reason} so that callers (engine, attestation
 * record, CLI exit codes) can act on the kind of failure, and a message for people that names the
 * problem and, where there is one, the fix.
 */
public class ProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a check failed; these names appear in attestation records and must stay stable. */
    public enum Reason {
        /** Bytes do not follow the wire format (bad magic, length, alignment, field value). */
        MALFORMED,
        /** A record type that this implementation does not know and that is marked mandatory. */
        UNKNOWN_MANDATORY_RECORD,
        /** A well-formed record that is not allowed in the current state. */
        UNEXPECTED_RECORD,
        /** An AEAD tag, signature or MAC did not verify: the bytes were changed. */
        TAMPERED,
        /** Something old was presented again: an earlier round, migration, sequence number or policy. */
        REPLAY,
        /** Control records out of order or with a gap. */
        REORDERED,
        /** The stream ended before the protocol did. */
        TRUNCATED,
        /** Protocol version or suite lower than both sides support or than policy allows. */
        DOWNGRADE,
        /** A peer could not prove it runs a trusted hypervisor. */
        UNATTESTED,
        /** The policy forbids it (measurement, host, VM, expired or superseded policy). */
        POLICY,
        /** A certificate or chain is invalid, expired or from another CA. */
        CERTIFICATE,
        /** Content does not match the manifest: missing, stale, extra or altered page or context. */
        MANIFEST_MISMATCH,
        /** A counter would wrap or a limit would be exceeded. */
        EXHAUSTED,
        /** A deadline passed. */
        DEADLINE,
        /** The hypervisor's sealed state is missing, rolled back or otherwise in doubt. */
        STATE_IN_DOUBT,
        /** An attestation log or record does not verify. */
        LOG_INVALID,
        /**
         * dom0 gave the migration up on purpose before RELEASE: an operator's cancel, or the ABORT token asked for
         * (an operator's export, the agent's recovery). The detail names which. Last, so the ordinals of the
         * others (the hypervisor interface sends them as one octet) stay as they were.
         */
        CANCELLED
    }

    private final Reason reason;

    public ProtocolException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public ProtocolException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }

    @Override
    public String getMessage() {
        return reason + ": " + super.getMessage();
    }
}
