package org.sealift.protocol.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.ControlReceiver;
import org.sealift.protocol.control.ControlSender;
import org.sealift.protocol.handshake.HandshakeResult;
import org.sealift.protocol.handshake.Initiator;
import org.sealift.protocol.handshake.Responder;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.handshake.TestCluster;
import org.sealift.protocol.handshake.TestCluster.Host;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * The commit phase end to end across the two libraries that meet here: keys from the handshake, control records
 * (docs/protocol.md §5) carrying tokens, verification against the handshake's peer identity.
 */
class TokenOverControlChannelTest {

    private final TestCluster cluster = new TestCluster();

    private static HandshakeResult[] handshake(Host source, Host destination) throws ProtocolException {
        StreamHeader h = StreamHeader.secureV1();
        Initiator i = new Initiator(source.credentials(), source.config(), h, TestCluster.VM, destination.id);
        Responder r = new Responder(destination.credentials(), destination.config(), h);
        byte[] finish = i.onHelloReply(h, r.onHello(h, i.hello()));
        return new HandshakeResult[] {i.result(), r.onFinish(finish)};
    }

    @Test
    void readyThenReleaseTravelSealedAndVerifyAgainstTheHandshakePeer() throws Exception {
        Host h1 = cluster.host("h1");
        Host h2 = cluster.host("h2");
        HandshakeResult[] s = handshake(h1, h2);
        HandshakeResult src = s[0];
        HandshakeResult dst = s[1];
        byte[] digest = MessageDigest.getInstance("SHA-256").digest("manifest".getBytes());

        // destination → source: READY
        ControlSender dSend = new ControlSender(dst.keys().controlKey(Role.DESTINATION), Role.DESTINATION,
                dst.migrationId());
        ControlReceiver sRecv = new ControlReceiver(src.keys().controlKey(Role.DESTINATION), Role.DESTINATION,
                src.migrationId());
        Token ready = Token.issue(TokenKind.READY, dst.migrationId(), dst.transcriptHash(), digest, h2.ak);
        WireRecord readyRecord = dSend.seal(TokenKind.READY.recordType(), ready.encode());
        Token gotReady = Token.decode(sRecv.open(readyRecord));
        assertEquals("h2", TokenVerifier.verify(gotReady, src.peer(),
                TokenExpectation.fromPeer(src, TokenKind.READY, digest)).signer().hostId());

        // source → destination: RELEASE, then the same record again
        ControlSender sSend = new ControlSender(src.keys().controlKey(Role.SOURCE), Role.SOURCE, src.migrationId());
        ControlReceiver dRecv = new ControlReceiver(dst.keys().controlKey(Role.SOURCE), Role.SOURCE,
                dst.migrationId());
        Token release = Token.issue(TokenKind.RELEASE, src.migrationId(), src.transcriptHash(), digest, h1.ak);
        WireRecord releaseRecord = sSend.seal(TokenKind.RELEASE.recordType(), release.encode());
        TokenLedger ledger = new TokenLedger();
        VerifiedToken v = TokenVerifier.verify(Token.decode(dRecv.open(releaseRecord)), dst.peer(),
                TokenExpectation.fromPeer(dst, TokenKind.RELEASE, digest));
        assertFalse(ledger.record(v).duplicate());
        // dom0 replays the record: the control channel refuses it (and is finished: protocol.md §5)...
        assertEquals(Reason.REPLAY, assertThrows(ProtocolException.class, () -> dRecv.open(releaseRecord)).reason());
        // ...so the source re-serves RELEASE as a file, which the operator imports: flagged as a duplicate
        TokenFile carried = TokenFile.parse(new TokenFile(release, h1.chain()).toText());
        VerifiedToken imported = TokenVerifier.verify(carried, h2.config().validator(), h2.store, TestCluster.NOW,
                TokenExpectation.fromPeer(dst, TokenKind.RELEASE, digest));
        assertTrue(ledger.record(imported).duplicate());
    }

    @Test
    void aTokenRecordFromAnotherSessionDoesNotOpen() throws Exception {
        Host h1 = cluster.host("h1");
        Host h2 = cluster.host("h2");
        HandshakeResult[] first = handshake(h1, h2);
        HandshakeResult[] second = handshake(h1, h2);
        Token release = Token.issue(TokenKind.RELEASE, first[0].migrationId(), first[0].transcriptHash(),
                MessageDigest.getInstance("SHA-256").digest(new byte[1]), h1.ak);
        WireRecord old = new ControlSender(first[0].keys().controlKey(Role.SOURCE), Role.SOURCE,
                first[0].migrationId()).seal(TokenKind.RELEASE.recordType(), release.encode());
        ControlReceiver now = new ControlReceiver(second[1].keys().controlKey(Role.SOURCE), Role.SOURCE,
                second[1].migrationId());
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class, () -> now.open(old)).reason());
    }
}
