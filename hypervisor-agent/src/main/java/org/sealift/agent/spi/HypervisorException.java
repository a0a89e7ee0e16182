package org.sealift.agent.spi;

import java.util.Objects;
import java.util.Optional;

import org.sealift.protocol.ProtocolException;

/**
 * The hypervisor refused or failed a request. The {@link Reason} says what kind of refusal it is (callers act on
 * it); the message names the problem and the fix. When a protocol check failed inside the hypervisor (a tampered
 * sealed page, a manifest mismatch, a bad signature in HELLO_REPLY) {@link #protocolReason()} carries the reason for
 * the attestation record.
 */
public class HypervisorException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a hypervisor call failed; stable names (they travel over the sim socket and into logs). */
    public enum Reason {
        /** No domain, migration or session with that id on this host. */
        NOT_FOUND,
        /** A domain with that name already exists. */
        ALREADY_EXISTS,
        /** The request itself is invalid (size, range, name, argument). */
        INVALID_ARGUMENT,
        /** The request is not allowed in the domain's or migration's current state (G5 checks: resume after RELEASE, ...). */
        REFUSED,
        /** Plain mode, metadata export or a plain vCPU context asked for a VM with protected processes (G1). */
        PROTECTED_VM,
        /** Another migration of this VM holds the hypervisor's per-VM migration lock. */
        LOCKED,
        /** The hypervisor's sealed decision state is missing or rolled back: it refuses to resume anything in doubt. */
        STATE_IN_DOUBT,
        /** The host has no attestation-key certificate (or no policy) yet: enroll it first. */
        NOT_ENROLLED,
        /** A protocol check failed; see {@link HypervisorException#protocolReason()}. */
        PROTOCOL,
        /** The hypervisor cannot be reached (process gone, socket closed). */
        UNAVAILABLE,
        /** A fault inside the hypervisor (I/O on its state, out of memory): not the caller's fault. */
        INTERNAL
    }

    private final Reason reason;
    private final ProtocolException.Reason protocolReason;

    public HypervisorException(Reason reason, String message) {
        this(reason, null, message, null);
    }

    public HypervisorException(Reason reason, String message, Throwable cause) {
        this(reason, null, message, cause);
    }

    public HypervisorException(Reason reason, ProtocolException.Reason protocolReason, String message,
            Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.protocolReason = protocolReason;
    }

    /** A failed protocol check inside the hypervisor. */
    public static HypervisorException protocol(ProtocolException e) {
        return new HypervisorException(Reason.PROTOCOL, e.reason(), e.getMessage(), e);
    }

    public Reason reason() {
        return reason;
    }

    /** The protocol reason for the attestation record, when a protocol check failed or state was in doubt. */
    public Optional<ProtocolException.Reason> protocolReason() {
        if (protocolReason != null) {
            return Optional.of(protocolReason);
        }
        return reason == Reason.STATE_IN_DOUBT ? Optional.of(ProtocolException.Reason.STATE_IN_DOUBT) : Optional.empty();
    }
}
