package org.sealift.protocol.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.HandshakeResult;
import org.sealift.protocol.handshake.Initiator;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Responder;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.handshake.TestCluster;
import org.sealift.protocol.handshake.TestCluster.Host;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.pki.PolicyStore;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;

/**
 * Commit tokens under attack: each test presents a token where it does not belong (other kind, migration, manifest,
 * transcript, signer) or edits one, and asserts the reason it is refused.
 */
class TokenTest {

    private final TestCluster cluster = new TestCluster();
    private Host h1;
    private Host h2;
    private HandshakeResult atSource;
    private HandshakeResult atDestination;
    private byte[] manifestDigest;

    @BeforeEach
    void migrate() throws ProtocolException {
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
        HandshakeResult[] r = handshake(h1, h2);
        atSource = r[0];
        atDestination = r[1];
        manifestDigest = sha256("manifest of migration " + atSource.migrationId());
    }

    private static HandshakeResult[] handshake(Host source, Host destination) throws ProtocolException {
        StreamHeader h = StreamHeader.secureV1();
        Initiator i = new Initiator(source.credentials(), source.config(), h, TestCluster.VM, null);
        Responder r = new Responder(destination.credentials(), destination.config(), h);
        byte[] finish = i.onHelloReply(h, r.onHello(h, i.hello()));
        HandshakeResult d = r.onFinish(finish);
        return new HandshakeResult[] {i.result(), d};
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private Host signerHost(TokenKind kind) {
        return kind.signer() == Role.SOURCE ? h1 : h2;
    }

    /** The identity of the host that signs {@code kind}, as its peer learned it in the handshake. */
    private AttestedIdentity signerIdentity(TokenKind kind) {
        return kind.signer() == Role.SOURCE ? atDestination.peer() : atSource.peer();
    }

    /** The session of the host that receives {@code kind}. */
    private HandshakeResult receiver(TokenKind kind) {
        return kind.signer() == Role.SOURCE ? atDestination : atSource;
    }

    private Token issue(TokenKind kind) throws ProtocolException {
        return Token.issue(kind, atSource.migrationId(), atSource.transcriptHash(), manifestDigest,
                signerHost(kind).ak);
    }

    private VerifiedToken verifyInSession(Token t, TokenKind expected) throws ProtocolException {
        return TokenVerifier.verify(t, signerIdentity(t.kind()),
                TokenExpectation.fromPeer(receiver(expected), expected, manifestDigest));
    }

    private static void assertRefused(Reason reason, Executable e) {
        ProtocolException x = assertThrows(ProtocolException.class, e);
        assertEquals(reason, x.reason(), x.getMessage());
    }

    private static byte[] patch(byte[] b, int offset, byte[] with) {
        byte[] c = b.clone();
        System.arraycopy(with, 0, c, offset, with.length);
        return c;
    }

    // ---------------------------------------------------------------- honest use

    @Test
    void everyKindVerifiesAtItsReceiverInTheSession() throws Exception {
        for (TokenKind kind : TokenKind.values()) {
            VerifiedToken v = verifyInSession(issue(kind), kind);
            assertEquals(signerHost(kind).id, v.signer().hostId());
            assertEquals(kind.signer(), v.token().role());
        }
    }

    @Test
    void signedBytesAreTheDocumentedLayout() throws Exception {
        Token t = issue(TokenKind.RELEASE);
        // "SMP1/RELEASE" ‖ role 0x01 ‖ TH ‖ migration id ‖ manifest digest, built here independently of Token
        byte[] expected = ByteBuffer.allocate(12 + 1 + 32 + 16 + 32).put("SMP1/RELEASE".getBytes(StandardCharsets.US_ASCII))
                .put((byte) 1).put(atSource.transcriptHash()).put(atSource.migrationId().bytes()).put(manifestDigest)
                .array();
        assertArrayEquals(expected, t.signedMessage());
        Signature jdk = Signature.getInstance("Ed25519");
        jdk.initVerify(h1.akCert.getPublicKey());
        jdk.update(expected);
        assertTrue(jdk.verify(t.signature()));
    }

    @Test
    void encodingIsTheDocumentedLayout() throws Exception {
        Token t = issue(TokenKind.READY);
        byte[] b = t.encode();
        assertEquals(152, b.length);
        assertEquals(1, b[0]); // format
        assertEquals(TokenKind.READY.wire(), b[1]);
        assertEquals(Role.DESTINATION.wire(), b[2]);
        assertArrayEquals(new byte[5], Arrays.copyOfRange(b, 3, 8));
        assertArrayEquals(atSource.migrationId().bytes(), Arrays.copyOfRange(b, 8, 24));
        assertArrayEquals(atSource.transcriptHash(), Arrays.copyOfRange(b, 24, 56));
        assertArrayEquals(manifestDigest, Arrays.copyOfRange(b, 56, 88));
        assertArrayEquals(t.signature(), Arrays.copyOfRange(b, 88, 152));
        assertEquals(t, Token.decode(b));
        assertTrue(b.length <= RecordType.MAX_TOKEN_LENGTH);
        assertEquals(RecordType.ABORT, TokenKind.ABORT_BY_DESTINATION.recordType());
    }

    // ---------------------------------------------------------------- confusion

    @Test
    void aTokenOfOneKindNeverVerifiesAsAnotherKind() throws Exception {
        for (TokenKind issued : TokenKind.values()) {
            Token t = issue(issued);
            for (TokenKind other : TokenKind.values()) {
                if (other == issued) {
                    continue;
                }
                // presented where another kind is expected
                assertRefused(Reason.UNEXPECTED_RECORD, () -> verifyInSession(t, other));
                // relabelled as the other kind (kind and role octets rewritten): the signature names the real kind
                byte[] relabelled = t.encode();
                relabelled[1] = (byte) other.wire();
                relabelled[2] = (byte) other.signer().wire();
                Token forged = Token.decode(relabelled);
                assertRefused(Reason.TAMPERED, () -> TokenVerifier.verify(forged, signerIdentity(issued),
                        new TokenExpectation(other, atSource.migrationId(), atSource.transcriptHash(),
                                manifestDigest, null)));
            }
        }
    }

    @Test
    void aTokenWhoseRoleOctetContradictsItsKindIsMalformed() throws Exception {
        byte[] b = issue(TokenKind.RELEASE).encode();
        b[2] = (byte) Role.DESTINATION.wire();
        assertRefused(Reason.MALFORMED, () -> Token.decode(b));
    }

    @Test
    void aTokenForAnotherMigrationIsRefused() throws Exception {
        Token t = issue(TokenKind.RELEASE);
        HandshakeResult[] other = handshake(h1, h2);
        assertRefused(Reason.REPLAY, () -> TokenVerifier.verify(t, other[1].peer(),
                TokenExpectation.fromPeer(other[1], TokenKind.RELEASE, manifestDigest)));
        // with the migration id rewritten to this one, the signature no longer fits
        Token forged = Token.decode(patch(t.encode(), 8, other[1].migrationId().bytes()));
        assertRefused(Reason.REPLAY, () -> TokenVerifier.verify(forged, other[1].peer(),
                TokenExpectation.fromPeer(other[1], TokenKind.RELEASE, manifestDigest)));
        Token forged2 = Token.decode(patch(patch(t.encode(), 8, other[1].migrationId().bytes()), 24,
                other[1].transcriptHash()));
        assertRefused(Reason.TAMPERED, () -> TokenVerifier.verify(forged2, other[1].peer(),
                TokenExpectation.fromPeer(other[1], TokenKind.RELEASE, manifestDigest)));
    }

    @Test
    void aTokenForAnotherManifestDigestIsRefused() throws Exception {
        Token t = issue(TokenKind.RELEASE);
        byte[] otherDigest = sha256("another manifest");
        assertRefused(Reason.MANIFEST_MISMATCH, () -> TokenVerifier.verify(t, atDestination.peer(),
                TokenExpectation.fromPeer(atDestination, TokenKind.RELEASE, otherDigest)));
        Token forged = Token.decode(patch(t.encode(), 56, otherDigest));
        assertRefused(Reason.TAMPERED, () -> TokenVerifier.verify(forged, atDestination.peer(),
                TokenExpectation.fromPeer(atDestination, TokenKind.RELEASE, otherDigest)));
    }

    @Test
    void aTokenForAnotherTranscriptIsRefused() throws Exception {
        Token t = issue(TokenKind.READY);
        byte[] otherTranscript = sha256("another handshake");
        TokenExpectation e = new TokenExpectation(TokenKind.READY, atSource.migrationId(), otherTranscript,
                manifestDigest, null);
        assertRefused(Reason.REPLAY, () -> TokenVerifier.verify(t, atSource.peer(), e));
        Token forged = Token.decode(patch(t.encode(), 24, otherTranscript));
        assertRefused(Reason.TAMPERED, () -> TokenVerifier.verify(forged, atSource.peer(), e));
    }

    @Test
    void aTokenSignedUnderAnotherHostsAkIsRefused() throws Exception {
        // h3 is attested too, and signs a RELEASE with all the right fields
        Host h3 = cluster.host("h3");
        Token byH3 = Token.issue(TokenKind.RELEASE, atSource.migrationId(), atSource.transcriptHash(),
                manifestDigest, h3.ak);
        AttestedIdentity h3Identity = new AkValidator(cluster.ca.trust()).validate(h3.chain(), h2.store,
                TestCluster.NOW);
        TokenExpectation fromSource = TokenExpectation.fromPeer(atDestination, TokenKind.RELEASE, manifestDigest);
        // presented as h3's: not this migration's source
        assertRefused(Reason.UNATTESTED, () -> TokenVerifier.verify(byH3, h3Identity, fromSource));
        // presented as the source's: the signature is not the source's
        assertRefused(Reason.TAMPERED, () -> TokenVerifier.verify(byH3, atDestination.peer(), fromSource));
    }

    @Test
    void tokensFromAnEarlierSessionOfTheSameHostsAreRefused() throws Exception {
        Token old = issue(TokenKind.RELEASE);
        HandshakeResult[] retry = handshake(h1, h2);
        assertRefused(Reason.REPLAY, () -> TokenVerifier.verify(old, retry[1].peer(),
                TokenExpectation.fromPeer(retry[1], TokenKind.RELEASE, manifestDigest)));
    }

    @Test
    void readyReleaseAndDoneRequireAManifestDigestButAbortsMayComeBeforeOne() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> Token.issue(TokenKind.READY, atSource.migrationId(),
                atSource.transcriptHash(), null, h2.ak));
        byte[] noDigest = patch(issue(TokenKind.RELEASE).encode(), 56, new byte[32]);
        assertRefused(Reason.MALFORMED, () -> Token.decode(noDigest));

        Token abort = Token.issue(TokenKind.ABORT_BY_SOURCE, atSource.migrationId(), atSource.transcriptHash(), null,
                h1.ak);
        assertFalse(abort.hasManifest());
        TokenExpectation anyManifest = new TokenExpectation(TokenKind.ABORT_BY_SOURCE, atDestination.migrationId(),
                atDestination.transcriptHash(), null, atDestination.peer().akFingerprint());
        assertEquals("h1", TokenVerifier.verify(abort, atDestination.peer(), anyManifest).signer().hostId());
        assertThrows(IllegalArgumentException.class, () -> new TokenExpectation(TokenKind.DONE,
                atSource.migrationId(), atSource.transcriptHash(), null, null));
    }

    // ---------------------------------------------------------------- duplicates

    @Test
    void duplicateReleaseIsVisibleToTheReceiver() throws Exception {
        TokenLedger ledger = new TokenLedger();
        Token release = issue(TokenKind.RELEASE);
        TokenLedger.Receipt first = ledger.record(verifyInSession(release, TokenKind.RELEASE));
        assertFalse(first.duplicate());
        // the source re-serves it after a lost record, or dom0 replays it: same bytes, flagged
        TokenLedger.Receipt second = ledger.record(verifyInSession(Token.decode(release.encode()),
                TokenKind.RELEASE));
        assertTrue(second.duplicate());
        assertTrue(ledger.contains(TokenKind.RELEASE, atSource.migrationId()));
        assertFalse(ledger.contains(TokenKind.RELEASE, MigrationId.of(new byte[16])));
    }

    @Test
    void aSecondDifferentReleaseForTheSameMigrationIsRefused() throws Exception {
        TokenLedger ledger = new TokenLedger();
        ledger.record(verifyInSession(issue(TokenKind.RELEASE), TokenKind.RELEASE));
        byte[] otherDigest = sha256("other manifest");
        Token other = Token.issue(TokenKind.RELEASE, atSource.migrationId(), atSource.transcriptHash(), otherDigest,
                h1.ak);
        VerifiedToken v = TokenVerifier.verify(other, atDestination.peer(),
                TokenExpectation.fromPeer(atDestination, TokenKind.RELEASE, otherDigest));
        assertRefused(Reason.REPLAY, () -> ledger.record(v));
        // the first one still stands
        assertArrayEquals(manifestDigest,
                ledger.find(TokenKind.RELEASE, atSource.migrationId()).orElseThrow().token().manifestDigest());
    }

    @Test
    void tokenIdentityIsKindAndMigration() throws Exception {
        Token ready = issue(TokenKind.READY);
        Token done = issue(TokenKind.DONE);
        TokenLedger ledger = new TokenLedger();
        assertFalse(ledger.record(verifyInSession(ready, TokenKind.READY)).duplicate());
        assertFalse(ledger.record(verifyInSession(done, TokenKind.DONE)).duplicate());
        assertEquals(new Token.Id(TokenKind.READY, atSource.migrationId()), ready.id());
    }

    // ---------------------------------------------------------------- files, offline

    @Test
    void tokenFileCarriedByHandVerifiesAfterARestartWithNothingButTrustAndPolicy(@TempDir Path dir)
            throws Exception {
        Token release = issue(TokenKind.RELEASE);
        TokenFile out = new TokenFile(release, h1.chain());
        Path file = dir.resolve(out.suggestedFileName());
        out.save(file);
        assertTrue(Files.readString(file).startsWith("SEALIFT-TOKEN 1\nkind: RELEASE\nrole: source\n"));

        // "restart": a fresh validator and a policy store restored from the sealed highest serial
        PolicyStore restored = new PolicyStore(cluster.ca.trust(), 1);
        restored.accept(cluster.ca.signPolicy(cluster.policy(1).build()), TestCluster.NOW);
        TokenFile in = TokenFile.load(file);
        VerifiedToken v = TokenVerifier.verify(in, new AkValidator(cluster.ca.trust()), restored, TestCluster.NOW);
        assertEquals("h1", v.signer().hostId());
        assertEquals(release, v.token());
        // and against what the destination knows of the migration
        TokenVerifier.verify(in, new AkValidator(cluster.ca.trust()), restored, TestCluster.NOW,
                TokenExpectation.fromPeer(atDestination, TokenKind.RELEASE, manifestDigest));
    }

    @Test
    void abortTokenFileWithoutManifestSaysNone() throws Exception {
        Token abort = Token.issue(TokenKind.ABORT_BY_DESTINATION, atSource.migrationId(), atSource.transcriptHash(),
                null, h2.ak);
        String text = new TokenFile(abort, h2.chain()).toText();
        assertTrue(text.contains("\nmanifest-digest: none\n"), text);
        assertEquals(abort, TokenFile.parse(text).token());
    }

    private String releaseFileText() throws ProtocolException {
        return new TokenFile(issue(TokenKind.RELEASE), h1.chain()).toText();
    }

    private VerifiedToken verifyFile(String text) throws ProtocolException {
        return TokenVerifier.verify(TokenFile.parse(text), new AkValidator(cluster.ca.trust()), h2.store,
                TestCluster.NOW);
    }

    private static String replaceField(String text, String field, String value) {
        int start = text.indexOf("\n" + field + ": ") + field.length() + 3;
        int end = text.indexOf('\n', start);
        return text.substring(0, start) + value + text.substring(end);
    }

    private static String field(String text, String field) {
        int start = text.indexOf("\n" + field + ": ") + field.length() + 3;
        return text.substring(start, text.indexOf('\n', start));
    }

    private static String flipHexDigit(String hex) {
        char c = hex.charAt(hex.length() - 1);
        return hex.substring(0, hex.length() - 1) + (c == '0' ? '1' : '0');
    }

    @Test
    void editingASignedFieldOfATokenFileBreaksTheSignature() throws Exception {
        String text = releaseFileText();
        verifyFile(text);
        for (String f : List.of("migration-id", "transcript-hash", "manifest-digest", "signature")) {
            String edited = replaceField(text, f, flipHexDigit(field(text, f)));
            assertRefused(Reason.TAMPERED, () -> verifyFile(edited));
        }
        // RELEASE → ABORT_BY_SOURCE keeps the role: parses, but the signature names RELEASE
        String relabelled = replaceField(text, "kind", "ABORT_BY_SOURCE");
        assertRefused(Reason.TAMPERED, () -> verifyFile(relabelled));
    }

    @Test
    void editingTheFormOfATokenFileIsMalformed() throws Exception {
        String text = releaseFileText();
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(replaceField(text, "role", "destination")));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(replaceField(text, "kind", "COMMIT")));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(replaceField(text, "signer-ak",
                flipHexDigit(field(text, "signer-ak")))));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(replaceField(text, "signature",
                field(text, "signature").toUpperCase())));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(text.replace("SEALIFT-TOKEN 1", "SEALIFT-TOKEN 2")));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(text.replace("\nrole:", "\nnote: hi\nrole:")));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(text + "trailing words\n"));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse(text.substring(0, text.indexOf("-----BEGIN"))));
        assertRefused(Reason.MALFORMED, () -> TokenFile.parse("x".repeat(TokenFile.MAX_BYTES + 1)));
        // Windows line ends from a hand-carried copy are fine
        assertEquals(TokenFile.parse(text).token(), TokenFile.parse(text.replace("\n", "\r\n")).token());
    }

    @Test
    void tokenFileWithAnotherHostsChainIsRefused() throws Exception {
        Host h3 = cluster.host("h3");
        TokenFile swapped = new TokenFile(issue(TokenKind.RELEASE), h3.chain());
        assertRefused(Reason.TAMPERED, () -> verifyFile(swapped.toText()));
    }

    @Test
    void tokenFileSignedWithTheAgentTlsKeyIsRefused() throws Exception {
        KeyPair tls = TestCluster.generateEd25519();
        X509Certificate tlsCert = cluster.ca.issueAgentTlsCertificate("h1", tls.getPublic(), TestCluster.NOW,
                TestCluster.YEAR);
        Token byDom0 = Token.issue(TokenKind.RELEASE, atSource.migrationId(), atSource.transcriptHash(),
                manifestDigest, AttestationSigner.of(tls));
        assertRefused(Reason.CERTIFICATE,
                () -> verifyFile(new TokenFile(byDom0, List.of(tlsCert, cluster.ca.certificate())).toText()));
    }

    @Test
    void tokenFileFromAForeignCaIsRefused() throws Exception {
        Host foreign = new TestCluster("other-cluster").host("h1");
        Token t = Token.issue(TokenKind.RELEASE, atSource.migrationId(), atSource.transcriptHash(), manifestDigest,
                foreign.ak);
        assertRefused(Reason.CERTIFICATE, () -> verifyFile(new TokenFile(t, foreign.chain()).toText()));
    }

    @Test
    void tokenFileOfASelfSignedAkIsRefused() throws Exception {
        KeyPair dom0 = TestCluster.generateEd25519();
        X509Certificate fake = TestCluster.selfSignedAk("h1", dom0, cluster.goodMeasurement, "h1");
        Token t = Token.issue(TokenKind.RELEASE, atSource.migrationId(), atSource.transcriptHash(), manifestDigest,
                AttestationSigner.of(dom0));
        assertRefused(Reason.CERTIFICATE, () -> verifyFile(new TokenFile(t, List.of(fake)).toText()));
    }

    @Test
    void tokenFileIsCheckedAgainstTheCertificateValidityAtTheGivenTime() throws Exception {
        Host shortLived = cluster.host("h4", TestCluster.NOW, Duration.ofDays(10));
        Token t = Token.issue(TokenKind.ABORT_BY_DESTINATION, atSource.migrationId(), atSource.transcriptHash(),
                null, shortLived.ak);
        TokenFile f = new TokenFile(t, shortLived.chain());
        AkValidator validator = new AkValidator(cluster.ca.trust());
        assertEquals("h4", TokenVerifier.verify(f, validator, h2.store, TestCluster.NOW).signer().hostId());
        Instant later = TestCluster.NOW.plus(Duration.ofDays(20));
        assertRefused(Reason.CERTIFICATE, () -> TokenVerifier.verify(f, validator, h2.store, later));
    }

    @Test
    void tokenFileOfAHostWhoseMeasurementIsNoLongerAllowedIsRefused() throws Exception {
        PolicyStore newer = cluster.store(cluster.policy(2).removeMeasurement(cluster.goodMeasurement)
                .allowMeasurement(TestCluster.measurement(0x55), "sim-hv-1.1").build());
        assertRefused(Reason.POLICY, () -> TokenVerifier.verify(TokenFile.parse(releaseFileText()),
                new AkValidator(cluster.ca.trust()), newer, TestCluster.NOW));
    }

    @Test
    void hexOfTheFileMatchesTheToken() throws Exception {
        Token t = issue(TokenKind.DONE);
        String text = new TokenFile(t, h2.chain()).toText();
        assertEquals(HexFormat.of().formatHex(t.signature()), field(text, "signature"));
        assertEquals(t.migrationId().toString(), field(text, "migration-id"));
    }
}
