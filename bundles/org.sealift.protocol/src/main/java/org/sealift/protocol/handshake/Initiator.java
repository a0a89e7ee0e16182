package org.sealift.protocol.handshake;

import java.security.KeyPair;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Messages.Finish;
import org.sealift.protocol.handshake.Messages.Hello;
import org.sealift.protocol.handshake.Messages.HelloReply;
import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.wire.StreamHeader;

/**
 * The source hypervisor's side of the SMP1 handshake: {@link #hello()} → HELLO body; {@link #onHelloReply} (with
 * the HELLO_REPLY body) → FINISH body and the {@link HandshakeResult}. Bodies are plain byte arrays so the agent can
 * carry them over any channel (framed as records HELLO, HELLO_REPLY, FINISH of docs/protocol.md §3).
 *
 * <p>One instance runs one handshake once. Any failure leaves it FAILED with its secrets cleared; a retry is a new
 * Initiator and therefore a new migration id. Not thread-safe: one engine thread drives it.
 */
public final class Initiator {

    private enum State { NEW, HELLO_SENT, DONE, FAILED }

    private final HostCredentials local;
    private final HandshakeConfig config;
    private final StreamHeader sourceHeader;
    private final UUID vmId;
    private final String destinationHostId;
    private final Suite suite;
    private final MigrationId migrationId;

    private State state = State.NEW;
    private KeyPair ephemeral;
    private byte[] nonce;
    private byte[] hello;
    private long policySerial;
    private HandshakeResult result;

    /**
     * @param sourceHeader the stream header this host writes (source → destination)
     * @param vmId the VM to migrate
     * @param destinationHostId the host the operator chose, or null to accept any host the policy lets receive
     *        the VM; a reply from another attested host fails (POLICY)
     */
    public Initiator(HostCredentials local, HandshakeConfig config, StreamHeader sourceHeader, UUID vmId,
            String destinationHostId) {
        this.local = Objects.requireNonNull(local, "local");
        this.config = Objects.requireNonNull(config, "config");
        this.sourceHeader = Objects.requireNonNull(sourceHeader, "sourceHeader");
        this.vmId = Objects.requireNonNull(vmId, "vmId");
        this.destinationHostId = destinationHostId;
        this.suite = config.suites().get(0);
        this.migrationId = MigrationId.random(config.random());
    }

    /** The fresh migration id of this attempt (known before HELLO is sent, for logs and the operator). */
    public MigrationId migrationId() {
        return migrationId;
    }

    /** Builds HELLO. POLICY if no valid policy is installed; DOWNGRADE if this host's own settings are below it. */
    public byte[] hello() throws ProtocolException {
        if (state != State.NEW) {
            throw new IllegalStateException("HELLO was already built (state " + state + "); a retry needs a new"
                    + " Initiator");
        }
        try {
            Handshake.requireSecure(sourceHeader, "source → destination");
            if (!config.versions().contains(sourceHeader.version())) {
                throw new ProtocolException(Reason.DOWNGRADE, "this host's stream header says protocol version "
                        + sourceHeader.version() + ", which its own configuration does not accept "
                        + config.versions());
            }
            Policy policy = config.policies().current(config.clock().instant());
            policy.checkVersionAndSuite(sourceHeader.version(), suite.name());
            policySerial = policy.serial();
            ephemeral = X25519.generate(config.random());
            nonce = new byte[Messages.NONCE_LENGTH];
            config.random().nextBytes(nonce);
            hello = new Hello(sourceHeader.version(), suite.id(), policySerial, migrationId, vmId, nonce,
                    X25519.encode(ephemeral.getPublic()), local.encodedChain()).encode();
            state = State.HELLO_SENT;
            return hello.clone();
        } catch (ProtocolException | RuntimeException e) {
            fail();
            throw e;
        }
    }

    /**
     * Checks HELLO_REPLY and returns the FINISH body; afterwards {@link #result()} holds the session.
     *
     * @param destinationHeader the stream header read from the destination → source stream
     */
    public byte[] onHelloReply(StreamHeader destinationHeader, byte[] body) throws ProtocolException {
        Objects.requireNonNull(destinationHeader, "destinationHeader");
        Objects.requireNonNull(body, "body");
        if (state != State.HELLO_SENT) {
            // a second or unsolicited reply is the peer's (or dom0's) doing, not a bug here
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "HELLO_REPLY arrived in state " + state
                    + "; only one reply to one HELLO is allowed");
        }
        byte[] shared = null;
        byte[] confirmDestination = null;
        byte[] confirmSource = null;
        SessionKeys keys = null;
        try {
            HelloReply reply = HelloReply.decode(body);
            if (!reply.migrationId().equals(migrationId)) {
                throw new ProtocolException(Reason.REPLAY, "HELLO_REPLY is for migration " + reply.migrationId()
                        + ", this handshake is migration " + migrationId + ": a reply from another session");
            }
            Handshake.requireSecure(destinationHeader, "destination → source");
            if (destinationHeader.version() != sourceHeader.version() || reply.version() != sourceHeader.version()) {
                throw new ProtocolException(Reason.DOWNGRADE, "this host offered protocol version "
                        + sourceHeader.version() + " but the destination answers with stream version "
                        + destinationHeader.version() + " and HELLO_REPLY version " + reply.version()
                        + ": a header or HELLO was rewritten on the way");
            }
            if (reply.suite() != suite.id()) {
                throw new ProtocolException(Reason.DOWNGRADE, "this host offered " + suite
                        + " but the destination accepted " + String.format("suite 0x%08x", reply.suite())
                        + ": HELLO was rewritten on the way");
            }
            Instant now = config.clock().instant();
            AttestedIdentity peer = config.validator().validateEncoded(reply.chain(), config.policies(), now);
            config.policies().checkPeerSerial(peer.hostId(), reply.policySerial());
            if (destinationHostId != null && !destinationHostId.equals(peer.hostId())) {
                throw new ProtocolException(Reason.POLICY, "host " + peer.hostId() + " answered, but the migration"
                        + " was requested to host " + destinationHostId + ": the agent connected to the wrong host");
            }
            config.policies().current(now).checkReceive(peer.hostId(), vmId.toString());

            shared = X25519.agree(ephemeral.getPrivate(), reply.ephemeral());
            byte[] th = Transcript.hash(sourceHeader.encode(), destinationHeader.encode(), suite.id(), policySerial,
                    reply.policySerial(), hello, reply.core());
            try (KeySchedule ks = KeySchedule.extract(shared, nonce, reply.nonce(), th)) {
                keys = ks.sessionKeys();
                confirmDestination = ks.confirmationKey(Role.DESTINATION);
                confirmSource = ks.confirmationKey(Role.SOURCE);
            }
            peer.requireSignature(Handshake.signedMessage(Handshake.LABEL_REPLY, th, peer.measurement()),
                    reply.signature(), "HELLO_REPLY signature (over the transcript and the measurement in its AK"
                            + " certificate)");
            Handshake.requireMac(confirmDestination, th, reply.mac(), "HELLO_REPLY", peer);

            byte[] signature = local.signer().sign(
                    Handshake.signedMessage(Handshake.LABEL_FINISH, th, local.measurement()));
            byte[] finish = new Finish(migrationId, signature, Handshake.mac(confirmSource, th)).encode();
            result = new HandshakeResult(Role.SOURCE, migrationId, vmId, th, keys, peer, sourceHeader.version(),
                    suite, policySerial);
            keys = null; // owned by the result now
            state = State.DONE;
            clearEphemeral();
            return finish;
        } catch (ProtocolException | RuntimeException e) {
            if (keys != null) {
                keys.close();
            }
            fail();
            throw e;
        } finally {
            Zeroize.all(shared, confirmDestination, confirmSource);
        }
    }

    /** The established session; only after {@link #onHelloReply} succeeded. */
    public HandshakeResult result() {
        if (state != State.DONE) {
            throw new IllegalStateException("the handshake has not completed (state " + state + ")");
        }
        return result;
    }

    /** Gives up (deadline, cancel): clears secrets; a retry needs a new Initiator. Keys of a result stay open. */
    public void abort() {
        if (state != State.DONE) {
            fail();
        }
    }

    public boolean isFailed() {
        return state == State.FAILED;
    }

    private void fail() {
        state = State.FAILED;
        clearEphemeral();
    }

    private void clearEphemeral() {
        // a JDK XDH private key cannot be destroyed; dropping the reference is all Java allows
        ephemeral = null;
    }
}
