package org.sealift.protocol.pki;

import java.time.Instant;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Holds the current policy and enforces the minimum-serial rule: it remembers the highest serial it has accepted and
 * refuses any older policy (REPLAY), so dom0 cannot roll a host back to a policy that still trusts a revoked AK or an
 * old measurement. In the hypervisor, {@link #highestSerialSeen()} belongs in the sealed state and is passed back to
 * the constructor after a restart. Thread-safe.
 */
public final class PolicyStore {

    private final ClusterTrust trust;
    private long highestSerialSeen;
    private SignedPolicy currentSigned;
    private Policy current;

    public PolicyStore(ClusterTrust trust) {
        this(trust, 0);
    }

    /** @param highestSerialSeen restored from sealed state (unsigned 64-bit) */
    public PolicyStore(ClusterTrust trust, long highestSerialSeen) {
        this.trust = trust;
        this.highestSerialSeen = highestSerialSeen;
    }

    public ClusterTrust trust() {
        return trust;
    }

    /**
     * Verifies and installs a policy. TAMPERED if the signature fails; REPLAY if its serial is below the highest seen
     * (or equal with different content); POLICY if expired or not yet valid at {@code now}. Re-presenting the current
     * policy is accepted and changes nothing.
     */
    public synchronized Policy accept(SignedPolicy signed, Instant now) throws ProtocolException {
        Policy p = signed.verify(trust);
        int cmp = Long.compareUnsigned(p.serial(), highestSerialSeen);
        if (cmp < 0) {
            throw new ProtocolException(Reason.REPLAY, p.describe() + " is older than serial "
                    + Long.toUnsignedString(highestSerialSeen) + " already seen: an old policy was replayed;"
                    + " fetch the current policy from the cluster CA");
        }
        if (cmp == 0 && current != null && !current.equals(p)) {
            throw new ProtocolException(Reason.REPLAY, p.describe() + " differs from the installed policy with the"
                    + " same serial; a serial is used once: the CA must issue a new serial");
        }
        p.checkValidAt(now);
        highestSerialSeen = p.serial();
        current = p;
        currentSigned = signed;
        return p;
    }

    /** The installed policy; POLICY if there is none or it has expired since it was accepted. */
    public synchronized Policy current(Instant now) throws ProtocolException {
        if (current == null) {
            throw new ProtocolException(Reason.POLICY, "no cluster policy is installed"
                    + (highestSerialSeen != 0 ? " (serial " + Long.toUnsignedString(highestSerialSeen)
                            + " or newer is required)" : "")
                    + "; install the current policy from the cluster CA");
        }
        current.checkValidAt(now);
        return current;
    }

    /** The signed form of the installed policy, to hand to a peer that is behind; null if none. */
    public synchronized SignedPolicy currentSigned() {
        return currentSigned;
    }

    public synchronized long highestSerialSeen() {
        return highestSerialSeen;
    }

    /**
     * For the handshake, where both sides' policy serials are signed: a peer behind us is refused (REPLAY: it runs
     * with an old policy, which it may have been made to keep); a peer ahead of us means an update was withheld from
     * this host (POLICY: install it first). Equal serials pass.
     */
    public synchronized void checkPeerSerial(String peerHostId, long peerSerial) throws ProtocolException {
        int cmp = Long.compareUnsigned(peerSerial, highestSerialSeen);
        if (cmp < 0) {
            throw new ProtocolException(Reason.REPLAY, "host " + peerHostId + " uses policy serial "
                    + Long.toUnsignedString(peerSerial) + ", older than serial "
                    + Long.toUnsignedString(highestSerialSeen) + " here: its policy update was withheld or rolled"
                    + " back; install the current policy on " + peerHostId);
        }
        if (cmp > 0) {
            throw new ProtocolException(Reason.POLICY, "host " + peerHostId + " uses policy serial "
                    + Long.toUnsignedString(peerSerial) + ", newer than serial "
                    + Long.toUnsignedString(highestSerialSeen) + " here: a policy update was withheld from this host;"
                    + " install policy serial " + Long.toUnsignedString(peerSerial));
        }
    }
}
