package org.sealift.protocol.handshake;

import java.security.KeyPair;
import java.time.Instant;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Messages.Finish;
import org.sealift.protocol.handshake.Messages.Hello;
import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.wire.StreamHeader;

/**
 * The destination hypervisor's side of the SMP1 handshake: {@link #onHello} (with the HELLO body) → HELLO_REPLY
 * body; {@link #onFinish} (with the FINISH body) → {@link HandshakeResult}. The source is checked (chain, policy,
 * versions) before this host spends a key agreement or a signature on it.
 *
 * <p>One instance runs one handshake once; any failure leaves it FAILED with its secrets cleared. Not thread-safe.
 */
public final class Responder {

    private enum State { NEW, REPLY_SENT, DONE, FAILED }

    private final HostCredentials local;
    private final HandshakeConfig config;
    private final StreamHeader destinationHeader;

    private State state = State.NEW;
    private Hello hello;
    private AttestedIdentity peer;
    private Suite suite;
    private long policySerial;
    private byte[] transcriptHash;
    private SessionKeys keys;
    private byte[] confirmSource;

    /** @param destinationHeader the stream header this host writes (destination → source) */
    public Responder(HostCredentials local, HandshakeConfig config, StreamHeader destinationHeader) {
        this.local = Objects.requireNonNull(local, "local");
        this.config = Objects.requireNonNull(config, "config");
        this.destinationHeader = Objects.requireNonNull(destinationHeader, "destinationHeader");
    }

    /**
     * Checks HELLO and returns the HELLO_REPLY body.
     *
     * @param sourceHeader the stream header read from the source → destination stream
     */
    public byte[] onHello(StreamHeader sourceHeader, byte[] body) throws ProtocolException {
        Objects.requireNonNull(sourceHeader, "sourceHeader");
        Objects.requireNonNull(body, "body");
        if (state != State.NEW) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "HELLO arrived in state " + state
                    + "; a handshake has exactly one HELLO (a retry is a new connection and migration id)");
        }
        byte[] shared = null;
        byte[] confirmDestination = null;
        KeyPair ephemeral = null;
        try {
            Hello h = Hello.decode(body);
            Handshake.requireSecure(sourceHeader, "source → destination");
            Handshake.requireSecure(destinationHeader, "destination → source");
            if (h.version() != sourceHeader.version()) {
                throw new ProtocolException(Reason.DOWNGRADE, "HELLO says protocol version " + h.version()
                        + " but the source's stream header says " + sourceHeader.version()
                        + ": one of them was rewritten on the way");
            }
            if (h.version() != destinationHeader.version() || !config.versions().contains(h.version())) {
                throw new ProtocolException(Reason.DOWNGRADE, "the source speaks protocol version " + h.version()
                        + "; this host speaks " + destinationHeader.version() + " and accepts " + config.versions());
            }
            Suite s = config.suite(h.suite());
            if (s == null) {
                throw new ProtocolException(Reason.DOWNGRADE, String.format("the source offers suite 0x%08x", h.suite())
                        + ", which this host does not accept (accepted: " + config.suites() + ")");
            }
            Instant now = config.clock().instant();
            Policy policy = config.policies().current(now);
            policy.checkVersionAndSuite(h.version(), s.name());
            AttestedIdentity source = config.validator().validateEncoded(h.chain(), config.policies(), now);
            config.policies().checkPeerSerial(source.hostId(), h.policySerial());
            policy.checkReceive(local.hostId(), h.vmId().toString());

            ephemeral = X25519.generate(config.random());
            shared = X25519.agree(ephemeral.getPrivate(), h.ephemeral());
            byte[] nonce = new byte[Messages.NONCE_LENGTH];
            config.random().nextBytes(nonce);
            long ownSerial = policy.serial();
            byte[] core = Messages.HelloReply.encodeCore(h.version(), s.id(), ownSerial, h.migrationId(), nonce,
                    X25519.encode(ephemeral.getPublic()), local.encodedChain());
            byte[] th = Transcript.hash(sourceHeader.encode(), destinationHeader.encode(), s.id(), h.policySerial(),
                    ownSerial, body, core);
            try (KeySchedule ks = KeySchedule.extract(shared, h.nonce(), nonce, th)) {
                keys = ks.sessionKeys();
                confirmDestination = ks.confirmationKey(Role.DESTINATION);
                confirmSource = ks.confirmationKey(Role.SOURCE);
            }
            byte[] signature = local.signer().sign(
                    Handshake.signedMessage(Handshake.LABEL_REPLY, th, local.measurement()));
            byte[] reply = Messages.HelloReply.encode(core, signature, Handshake.mac(confirmDestination, th));

            this.hello = h;
            this.peer = source;
            this.suite = s;
            this.policySerial = ownSerial;
            this.transcriptHash = th;
            state = State.REPLY_SENT;
            return reply;
        } catch (ProtocolException | RuntimeException e) {
            fail();
            throw e;
        } finally {
            // the ephemeral private key goes out of scope here; the JDK gives no way to destroy it
            Zeroize.all(shared, confirmDestination);
        }
    }

    /** Checks FINISH; on success the session is established and returned. */
    public HandshakeResult onFinish(byte[] body) throws ProtocolException {
        Objects.requireNonNull(body, "body");
        if (state != State.REPLY_SENT) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "FINISH arrived in state " + state
                    + "; it must follow exactly one HELLO_REPLY");
        }
        try {
            Finish f = Finish.decode(body);
            if (!f.migrationId().equals(hello.migrationId())) {
                throw new ProtocolException(Reason.REPLAY, "FINISH is for migration " + f.migrationId()
                        + ", this handshake is migration " + hello.migrationId() + ": a FINISH from another session");
            }
            peer.requireSignature(Handshake.signedMessage(Handshake.LABEL_FINISH, transcriptHash, peer.measurement()),
                    f.signature(), "FINISH signature (over the transcript and the measurement in its AK certificate)");
            Handshake.requireMac(confirmSource, transcriptHash, f.mac(), "FINISH", peer);
            HandshakeResult result = new HandshakeResult(Role.DESTINATION, hello.migrationId(), hello.vmId(),
                    transcriptHash, keys, peer, hello.version(), suite, policySerial);
            keys = null; // owned by the result now
            state = State.DONE;
            Zeroize.all(confirmSource);
            return result;
        } catch (ProtocolException | RuntimeException e) {
            fail();
            throw e;
        }
    }

    /** Gives up (deadline, agent gone): clears secrets. */
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
        if (keys != null) {
            keys.close();
            keys = null;
        }
        Zeroize.all(confirmSource);
    }
}
