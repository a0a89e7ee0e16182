package org.sealift.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Messages.Hello;
import org.sealift.protocol.handshake.Messages.HelloReply;
import org.sealift.protocol.handshake.TestCluster.Host;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.wire.StreamHeader;

/**
 * The SMP1 handshake under attack. Every test plays the attacker the design assumes (dom0 and the network: read,
 * drop, replay, modify any byte, present any certificate it can get) and asserts which side stops the handshake and
 * with which reason. Byte offsets are those of docs/protocol-handshake.md §2.
 */
class HandshakeTest {

    private static final StreamHeader SECURE = StreamHeader.secureV1();

    // HELLO offsets
    private static final int H_VERSION = 0;
    private static final int H_SUITE = 4;
    private static final int H_SERIAL = 8;
    private static final int H_MIGRATION_ID = 16;
    private static final int H_VM_ID = 32;
    private static final int H_NONCE = 48;
    private static final int H_EPHEMERAL = 80;
    private static final int H_CHAIN = 112;
    // HELLO_REPLY offsets
    private static final int R_VERSION = 0;
    private static final int R_SUITE = 4;
    private static final int R_SERIAL = 8;
    private static final int R_MIGRATION_ID = 16;
    private static final int R_NONCE = 32;
    private static final int R_EPHEMERAL = 64;
    private static final int R_CHAIN = 96;

    private final TestCluster cluster = new TestCluster();
    private Host h1;
    private Host h2;

    @BeforeEach
    void hosts() throws ProtocolException {
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
    }

    // ---------------------------------------------------------------- harness

    /** What the attacker does to the traffic between the two hypervisors. */
    private static final class Mitm {
        UnaryOperator<byte[]> hello = UnaryOperator.identity();
        UnaryOperator<byte[]> reply = UnaryOperator.identity();
        UnaryOperator<byte[]> finish = UnaryOperator.identity();
        StreamHeader sourceHeaderSeenByDestination = SECURE;
        StreamHeader destinationHeaderSeenBySource = SECURE;
    }

    private record Session(HandshakeResult source, HandshakeResult destination, byte[] hello, byte[] reply,
            byte[] finish) {
    }

    private Initiator initiator(Host h) throws ProtocolException {
        return new Initiator(h.credentials(), h.config(), SECURE, TestCluster.VM, null);
    }

    private Responder responder(Host h) throws ProtocolException {
        return new Responder(h.credentials(), h.config(), SECURE);
    }

    private Session run(Initiator i, Responder r) throws ProtocolException {
        byte[] hello = i.hello();
        byte[] reply = r.onHello(SECURE, hello);
        byte[] finish = i.onHelloReply(SECURE, reply);
        HandshakeResult d = r.onFinish(finish);
        return new Session(i.result(), d, hello, reply, finish);
    }

    private Session run(Host source, Host destination) throws ProtocolException {
        return run(initiator(source), responder(destination));
    }

    /** Runs h1 → h2 through {@code m}; the handshake must fail at {@code detector} with {@code reason}. */
    private ProtocolException attack(Mitm m, Role detector, Reason reason) throws ProtocolException {
        return attack(initiator(h1), responder(h2), m, detector, reason);
    }

    private static ProtocolException attack(Initiator i, Responder r, Mitm m, Role detector, Reason reason)
            throws ProtocolException {
        ProtocolException caught = null;
        Role at = null;
        byte[] hello = i.hello();
        try {
            byte[] reply = r.onHello(m.sourceHeaderSeenByDestination, m.hello.apply(hello));
            at = Role.SOURCE;
            byte[] finish = i.onHelloReply(m.destinationHeaderSeenBySource, m.reply.apply(reply));
            at = Role.DESTINATION;
            r.onFinish(m.finish.apply(finish));
        } catch (ProtocolException e) {
            caught = e;
            if (at == null) {
                at = Role.DESTINATION;
            }
        }
        if (caught == null) {
            fail("the handshake completed despite the attack");
        }
        assertEquals(reason, caught.reason(), caught.getMessage());
        assertEquals(detector, at, "detected by the wrong side: " + caught.getMessage());
        return caught;
    }

    private static UnaryOperator<byte[]> flip(int offset) {
        return b -> {
            byte[] c = b.clone();
            c[offset] ^= 0x01;
            return c;
        };
    }

    private static UnaryOperator<byte[]> flipFromEnd(int fromEnd) {
        return b -> {
            byte[] c = b.clone();
            c[c.length - fromEnd] ^= 0x01;
            return c;
        };
    }

    /** Re-encodes a HELLO with another AK chain (what a MITM or a fake source sends). */
    private static UnaryOperator<byte[]> helloWithChain(List<X509Certificate> chain) {
        return b -> {
            try {
                Hello h = Hello.decode(b);
                return new Hello(h.version(), h.suite(), h.policySerial(), h.migrationId(), h.vmId(), h.nonce(),
                        h.ephemeral(), Certificates.encodeChain(chain)).encode();
            } catch (ProtocolException e) {
                throw new AssertionError(e);
            }
        };
    }

    private static UnaryOperator<byte[]> replyWithChain(List<X509Certificate> chain) {
        return b -> {
            try {
                HelloReply r = HelloReply.decode(b);
                byte[] core = HelloReply.encodeCore(r.version(), r.suite(), r.policySerial(), r.migrationId(),
                        r.nonce(), r.ephemeral(), Certificates.encodeChain(chain));
                return HelloReply.encode(core, r.signature(), r.mac());
            } catch (ProtocolException e) {
                throw new AssertionError(e);
            }
        };
    }

    private static byte[] put32(byte[] b, int offset, int value) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).putInt(offset, value);
        return c;
    }

    // ---------------------------------------------------------------- the honest run

    @Test
    void happyHandshakeDerivesEqualKeysOnBothSides() throws Exception {
        Session s = run(h1, h2);
        HandshakeResult src = s.source();
        HandshakeResult dst = s.destination();
        assertEquals(Role.SOURCE, src.role());
        assertEquals(Role.DESTINATION, dst.role());
        assertEquals(src.migrationId(), dst.migrationId());
        assertEquals(TestCluster.VM, dst.vmId());
        assertArrayEquals(src.transcriptHash(), dst.transcriptHash());
        assertEquals("h2", src.peer().hostId());
        assertEquals("h1", dst.peer().hostId());
        assertArrayEquals(cluster.goodMeasurement, src.peer().measurement());
        assertEquals(1, src.policySerial());
        assertEquals(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256, dst.suite());
        assertEquals(1, dst.version());
        for (Role sender : Role.values()) {
            assertArrayEquals(src.keys().controlKey(sender).getEncoded(), dst.keys().controlKey(sender).getEncoded());
        }
        assertArrayEquals(src.keys().sealingKey().getEncoded(), dst.keys().sealingKey().getEncoded());
        assertFalse(java.util.Arrays.equals(src.keys().controlKey(Role.SOURCE).getEncoded(),
                src.keys().controlKey(Role.DESTINATION).getEncoded()));

        // and they work as AES-256-GCM keys across the two hosts
        byte[] nonce = new byte[12];
        Cipher seal = Cipher.getInstance("AES/GCM/NoPadding");
        seal.init(Cipher.ENCRYPT_MODE, src.keys().sealingKey(), new GCMParameterSpec(128, nonce));
        byte[] ct = seal.doFinal("protected page".getBytes());
        Cipher open = Cipher.getInstance("AES/GCM/NoPadding");
        open.init(Cipher.DECRYPT_MODE, dst.keys().sealingKey(), new GCMParameterSpec(128, nonce));
        assertEquals("protected page", new String(open.doFinal(ct)));

        src.close();
        assertTrue(src.keys().isDestroyed());
    }

    @Test
    void retryIsANewHandshakeWithNewMigrationIdAndKeys() throws Exception {
        Session a = run(h1, h2);
        Session b = run(h1, h2);
        assertNotEquals(a.source().migrationId(), b.source().migrationId());
        assertFalse(java.util.Arrays.equals(a.source().transcriptHash(), b.source().transcriptHash()));
        assertFalse(java.util.Arrays.equals(a.source().keys().sealingKey().getEncoded(),
                b.source().keys().sealingKey().getEncoded()));
    }

    @Test
    void migrationIdIsKnownBeforeHelloAndMatchesTheResult() throws Exception {
        Initiator i = initiator(h1);
        MigrationId id = i.migrationId();
        assertEquals(id, run(i, responder(h2)).destination().migrationId());
    }

    // ---------------------------------------------------------------- tampering

    @Test
    void tamperedHelloNonceIsCaughtBySourceBecauseTheDestinationSignedAnotherTranscript() throws Exception {
        Mitm m = new Mitm();
        m.hello = flip(H_NONCE + 5);
        attack(m, Role.SOURCE, Reason.TAMPERED);
    }

    @Test
    void tamperedHelloEphemeralKeyIsCaughtBySource() throws Exception {
        Mitm m = new Mitm();
        m.hello = flip(H_EPHEMERAL + 3);
        attack(m, Role.SOURCE, Reason.TAMPERED);
    }

    @Test
    void tamperedHelloVmIdIsCaughtBySource() throws Exception {
        Mitm m = new Mitm();
        m.hello = flip(H_VM_ID);
        attack(m, Role.SOURCE, Reason.TAMPERED);
    }

    @Test
    void everyFixedFieldByteOfHelloTamperedFailsWithTheReasonOfItsField() throws Exception {
        for (int offset = 0; offset < H_CHAIN; offset++) {
            Role detector;
            Reason reason;
            if (offset < H_SERIAL) {
                detector = Role.DESTINATION;
                reason = Reason.DOWNGRADE; // version or suite
            } else if (offset < H_MIGRATION_ID) {
                detector = Role.DESTINATION;
                // serial 1: flipping the low bit makes it 0 (peer behind: REPLAY), any other bit makes it larger
                reason = offset == H_MIGRATION_ID - 1 ? Reason.REPLAY : Reason.POLICY;
            } else if (offset < H_VM_ID) {
                detector = Role.SOURCE;
                reason = Reason.REPLAY; // the reply names another migration
            } else {
                detector = Role.SOURCE;
                reason = Reason.TAMPERED; // VM id, nonce, ephemeral key: the signed transcript differs
            }
            Mitm m = new Mitm();
            m.hello = flip(offset);
            try {
                attack(m, detector, reason);
            } catch (AssertionError a) {
                throw new AssertionError("HELLO offset " + offset + ": " + a.getMessage(), a);
            }
        }
    }

    @Test
    void everySampledChainByteOfHelloTamperedIsRefusedByTheDestination() throws Exception {
        int length = initiator(h1).hello().length;
        Set<Reason> allowed = EnumSet.of(Reason.MALFORMED, Reason.CERTIFICATE, Reason.UNATTESTED);
        int tried = 0;
        for (int offset = H_CHAIN; offset < length; offset += offset < H_CHAIN + 16 ? 1 : 7) {
            Initiator i = initiator(h1);
            Responder r = responder(h2);
            byte[] hello = flip(offset).apply(i.hello());
            ProtocolException e = assertThrows(ProtocolException.class, () -> r.onHello(SECURE, hello),
                    "HELLO offset " + offset);
            assertTrue(allowed.contains(e.reason()), "HELLO offset " + offset + ": " + e.getMessage());
            tried++;
        }
        assertTrue(tried > 100, "sampled " + tried + " chain bytes");
    }

    @Test
    void everyFixedFieldByteOfHelloReplyTamperedIsCaughtBySource() throws Exception {
        for (int offset = 0; offset < R_CHAIN; offset++) {
            Reason reason;
            if (offset < R_SERIAL) {
                reason = Reason.DOWNGRADE;
            } else if (offset < R_MIGRATION_ID) {
                reason = offset == R_MIGRATION_ID - 1 ? Reason.REPLAY : Reason.POLICY;
            } else if (offset < R_NONCE) {
                reason = Reason.REPLAY;
            } else {
                reason = Reason.TAMPERED; // nonce_D, ephemeral key
            }
            Mitm m = new Mitm();
            m.reply = flip(offset);
            try {
                attack(m, Role.SOURCE, reason);
            } catch (AssertionError a) {
                throw new AssertionError("HELLO_REPLY offset " + offset + ": " + a.getMessage(), a);
            }
        }
    }

    @Test
    void tamperedHelloReplySignatureIsCaughtBySource() throws Exception {
        for (int fromEnd = 96; fromEnd > 32; fromEnd -= 9) {
            Mitm m = new Mitm();
            m.reply = flipFromEnd(fromEnd);
            ProtocolException e = attack(m, Role.SOURCE, Reason.TAMPERED);
            assertTrue(e.getMessage().contains("signature"), e.getMessage());
        }
    }

    @Test
    void wrongKeyConfirmationMacInHelloReplyIsCaughtBySource() throws Exception {
        Mitm m = new Mitm();
        m.reply = flipFromEnd(1);
        ProtocolException e = attack(m, Role.SOURCE, Reason.TAMPERED);
        assertTrue(e.getMessage().contains("MAC"), e.getMessage());
    }

    @Test
    void everyByteOfFinishTamperedIsCaughtByDestination() throws Exception {
        for (int offset = 0; offset < 112; offset++) {
            Mitm m = new Mitm();
            m.finish = flip(offset);
            Reason reason = offset < 16 ? Reason.REPLAY : Reason.TAMPERED;
            ProtocolException e;
            try {
                e = attack(m, Role.DESTINATION, reason);
            } catch (AssertionError a) {
                throw new AssertionError("FINISH offset " + offset + ": " + a.getMessage(), a);
            }
            if (offset >= 80) {
                assertTrue(e.getMessage().contains("MAC"), e.getMessage());
            } else if (offset >= 16) {
                assertTrue(e.getMessage().contains("FINISH signature"), e.getMessage());
            }
        }
    }

    @Test
    void truncatedOrExtendedMessagesAreMalformed() throws Exception {
        Mitm m = new Mitm();
        m.hello = b -> java.util.Arrays.copyOf(b, b.length - 8);
        attack(m, Role.DESTINATION, Reason.MALFORMED);
        m = new Mitm();
        m.reply = b -> java.util.Arrays.copyOf(b, b.length + 8);
        attack(m, Role.SOURCE, Reason.MALFORMED);
        m = new Mitm();
        m.finish = b -> java.util.Arrays.copyOf(b, 100);
        attack(m, Role.DESTINATION, Reason.MALFORMED);
    }

    // ---------------------------------------------------------------- replay

    @Test
    void replayedHelloReplyFromAnotherSessionIsRejected() throws Exception {
        byte[] oldReply = run(h1, h2).reply();
        Initiator i = initiator(h1);
        i.hello();
        ProtocolException e = assertThrows(ProtocolException.class, () -> i.onHelloReply(SECURE, oldReply));
        assertEquals(Reason.REPLAY, e.reason(), e.getMessage());
        assertTrue(i.isFailed());
    }

    @Test
    void replayedHelloReplyWithItsMigrationIdRewrittenFailsTheSignature() throws Exception {
        byte[] oldReply = run(h1, h2).reply();
        Initiator i = initiator(h1);
        i.hello();
        byte[] forged = oldReply.clone();
        System.arraycopy(i.migrationId().bytes(), 0, forged, R_MIGRATION_ID, MigrationId.LENGTH);
        ProtocolException e = assertThrows(ProtocolException.class, () -> i.onHelloReply(SECURE, forged));
        assertEquals(Reason.TAMPERED, e.reason(), e.getMessage());
    }

    @Test
    void replayedHelloAndFinishCannotOpenASessionWithANewDestination() throws Exception {
        Session old = run(h1, h2);
        Responder fresh = responder(h2);
        fresh.onHello(SECURE, old.hello()); // the destination cannot tell a replayed HELLO apart...
        ProtocolException e = assertThrows(ProtocolException.class, () -> fresh.onFinish(old.finish()));
        // ...but its new nonce and ephemeral key make the old FINISH worthless
        assertEquals(Reason.TAMPERED, e.reason(), e.getMessage());
    }

    @Test
    void secondHelloReplyAfterCompletionIsUnexpected() throws Exception {
        Initiator i = initiator(h1);
        Session s = run(i, responder(h2));
        ProtocolException e = assertThrows(ProtocolException.class, () -> i.onHelloReply(SECURE, s.reply()));
        assertEquals(Reason.UNEXPECTED_RECORD, e.reason());
    }

    @Test
    void finishBeforeHelloAndSecondHelloAreUnexpected() throws Exception {
        Session s = run(h1, h2);
        Responder r = responder(h2);
        assertEquals(Reason.UNEXPECTED_RECORD,
                assertThrows(ProtocolException.class, () -> r.onFinish(s.finish())).reason());
        Responder r2 = responder(h2);
        r2.onHello(SECURE, s.hello());
        assertEquals(Reason.UNEXPECTED_RECORD,
                assertThrows(ProtocolException.class, () -> r2.onHello(SECURE, s.hello())).reason());
    }

    // ---------------------------------------------------------------- downgrade

    @Test
    void downgradeOfVersionInHelloIsRefusedByDestination() throws Exception {
        Mitm m = new Mitm();
        m.hello = b -> put32(b, H_VERSION, 0);
        attack(m, Role.DESTINATION, Reason.DOWNGRADE);
    }

    @Test
    void downgradeOfVersionInBothHelloAndStreamHeaderIsRefusedByDestination() throws Exception {
        Mitm m = new Mitm();
        m.hello = b -> put32(b, H_VERSION, 0);
        m.sourceHeaderSeenByDestination = new StreamHeader(0, true);
        attack(m, Role.DESTINATION, Reason.DOWNGRADE);
    }

    @Test
    void rewrittenVersionInTheDestinationStreamHeaderIsCaughtBySource() throws Exception {
        Mitm m = new Mitm();
        m.destinationHeaderSeenBySource = new StreamHeader(0, true);
        attack(m, Role.SOURCE, Reason.DOWNGRADE);
    }

    @Test
    void secureFlagStrippedFromAStreamHeaderIsADowngrade() throws Exception {
        Mitm m = new Mitm();
        m.sourceHeaderSeenByDestination = StreamHeader.plainV1();
        attack(m, Role.DESTINATION, Reason.DOWNGRADE);
        m = new Mitm();
        m.destinationHeaderSeenBySource = StreamHeader.plainV1();
        attack(m, Role.SOURCE, Reason.DOWNGRADE);
    }

    @Test
    void versionBelowThePolicyMinimumIsRefusedBeforeAnythingIsSent() throws Exception {
        h1.store = cluster.store(cluster.policy(1).minProtocolVersion(2).build());
        ProtocolException e = assertThrows(ProtocolException.class, () -> initiator(h1).hello());
        assertEquals(Reason.DOWNGRADE, e.reason(), e.getMessage());
    }

    @Test
    void sourceRefusesToOfferAVersionItsOwnConfigurationNoLongerAccepts() throws Exception {
        Initiator i = new Initiator(h1.credentials(), h1.config().withVersions(Set.of(2)), SECURE, TestCluster.VM,
                null);
        assertEquals(Reason.DOWNGRADE, assertThrows(ProtocolException.class, i::hello).reason());
    }

    private static final Suite LEGACY = new Suite(0x0000_7f00, "SMP0-LEGACY-TEST");

    @Test
    void downgradeOfSuiteToOneThePolicyDoesNotAllowIsRefusedByDestination() throws Exception {
        // this destination's build still knows the legacy suite, but the policy no longer allows it
        Responder r = new Responder(h2.credentials(),
                h2.config().withSuites(List.of(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256, LEGACY)), SECURE);
        Mitm m = new Mitm();
        m.hello = b -> put32(b, H_SUITE, LEGACY.id());
        attack(initiator(h1), r, m, Role.DESTINATION, Reason.DOWNGRADE);
    }

    @Test
    void downgradeOfSuiteToOneNobodyAcceptsIsRefusedByDestination() throws Exception {
        Mitm m = new Mitm();
        m.hello = b -> put32(b, H_SUITE, LEGACY.id());
        attack(m, Role.DESTINATION, Reason.DOWNGRADE);
    }

    @Test
    void downgradeOfSuiteThatTheDestinationWouldAcceptIsCaughtBySourceThroughTheTranscript() throws Exception {
        // worst case for the source: policy and destination both still accept the legacy suite
        Policy both = cluster.policy(1).allowSuite(LEGACY.name()).build();
        h1.store = cluster.store(both);
        h2.store = cluster.store(both);
        List<Suite> suites = List.of(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256, LEGACY);
        Mitm m = new Mitm();
        m.hello = b -> put32(b, H_SUITE, LEGACY.id());
        // the reply honestly says which suite the destination accepted
        attack(new Initiator(h1.credentials(), h1.config().withSuites(suites), SECURE, TestCluster.VM, null),
                new Responder(h2.credentials(), h2.config().withSuites(suites), SECURE), m, Role.SOURCE,
                Reason.DOWNGRADE);
        // and rewriting the reply back is caught by the signature over the transcript
        m.reply = b -> put32(b, R_SUITE, Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.id());
        attack(new Initiator(h1.credentials(), h1.config().withSuites(suites), SECURE, TestCluster.VM, null),
                new Responder(h2.credentials(), h2.config().withSuites(suites), SECURE), m, Role.SOURCE,
                Reason.TAMPERED);
    }

    // ---------------------------------------------------------------- attestation

    @Test
    void unattestedSourceWithoutAChainIsRefused() throws Exception {
        Mitm m = new Mitm();
        m.hello = helloWithChain(List.of());
        attack(m, Role.DESTINATION, Reason.UNATTESTED);
    }

    @Test
    void unattestedDestinationWithoutAChainIsRefused() throws Exception {
        Mitm m = new Mitm();
        m.reply = replyWithChain(List.of());
        attack(m, Role.SOURCE, Reason.UNATTESTED);
    }

    @Test
    void selfSignedAkCertificateMadeByDom0IsRefused() throws Exception {
        // dom0 cannot get its own key endorsed (pki's tests), so it certifies one itself
        KeyPair dom0 = TestCluster.generateEd25519();
        X509Certificate fake = TestCluster.selfSignedAk("h1", dom0, cluster.goodMeasurement, "h1");
        HostCredentials creds = new HostCredentials(AttestationSigner.of(dom0), List.of(fake),
                cluster.goodMeasurement);
        Initiator i = new Initiator(creds, h1.config(), SECURE, TestCluster.VM, null);
        attack(i, responder(h2), new Mitm(), Role.DESTINATION, Reason.CERTIFICATE);
    }

    @Test
    void selfSignedAkCertificateNamingTheClusterCaAsIssuerIsRefused() throws Exception {
        KeyPair dom0 = TestCluster.generateEd25519();
        X509Certificate fake = TestCluster.selfSignedAk("h2", dom0, cluster.goodMeasurement, "prod-cluster");
        HostCredentials creds = new HostCredentials(AttestationSigner.of(dom0),
                List.of(fake, cluster.ca.certificate()), cluster.goodMeasurement);
        Responder r = new Responder(creds, h2.config(), SECURE);
        ProtocolException e = attack(initiator(h1), r, new Mitm(), Role.SOURCE, Reason.CERTIFICATE);
        assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
    }

    @Test
    void measurementNotInPolicyIsRefusedAtBothEnds() throws Exception {
        Host rogue = cluster.host("h3", TestCluster.measurement(0x22));
        ProtocolException atDestination = attack(initiator(rogue), responder(h2), new Mitm(), Role.DESTINATION,
                Reason.POLICY);
        assertTrue(atDestination.getMessage().contains("measurement"), atDestination.getMessage());
        ProtocolException atSource = attack(initiator(h1), responder(rogue), new Mitm(), Role.SOURCE,
                Reason.POLICY);
        assertTrue(atSource.getMessage().contains("not in policy"), atSource.getMessage());
    }

    @Test
    void hypervisorWhoseMeasurementChangedSinceEnrollmentRefusesToStart() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new HostCredentials(h1.ak, h1.chain(), TestCluster.measurement(0x33)));
        assertEquals(Reason.UNATTESTED, e.reason());
    }

    @Test
    void measurementSignedIntoTheTranscriptMustBeTheCertifiedOne() throws Exception {
        // a hypervisor that lies about its own measurement (bypassing HostCredentials) is caught by the signature
        Host liar = cluster.host("h3");
        HostCredentials honest = liar.credentials();
        java.lang.reflect.Field f = HostCredentials.class.getDeclaredField("measurement");
        f.setAccessible(true);
        f.set(honest, TestCluster.measurement(0x44));
        Responder r = new Responder(honest, liar.config(), SECURE);
        ProtocolException e = attack(initiator(h1), r, new Mitm(), Role.SOURCE, Reason.TAMPERED);
        assertTrue(e.getMessage().contains("signature"), e.getMessage());
    }

    @Test
    void expiredAkCertificateIsRefused() throws Exception {
        Host stale = cluster.host("h3", TestCluster.NOW.minus(Duration.ofDays(3)), Duration.ofDays(1));
        ProtocolException e = attack(initiator(stale), responder(h2), new Mitm(), Role.DESTINATION,
                Reason.CERTIFICATE);
        assertTrue(e.getMessage().contains("expired"), e.getMessage());
    }

    @Test
    void akCertificateFromAForeignCaIsRefused() throws Exception {
        TestCluster other = new TestCluster("other-cluster");
        Host foreign = other.host("h3");
        ProtocolException e = attack(initiator(h1), new Responder(foreign.credentials(), h2.config(), SECURE),
                new Mitm(), Role.SOURCE, Reason.CERTIFICATE);
        assertTrue(e.getMessage().contains("foreign"), e.getMessage());
    }

    @Test
    void agentTlsCertificateUsedAsAttestationKeyIsRefused() throws Exception {
        // dom0 holds its agent's TLS key and a CA-issued certificate for it; it presents that as the AK
        KeyPair tls = TestCluster.generateEd25519();
        X509Certificate tlsCert = cluster.ca.issueAgentTlsCertificate("h1", tls.getPublic(), TestCluster.NOW,
                TestCluster.YEAR);
        Mitm m = new Mitm();
        m.hello = helloWithChain(List.of(tlsCert, cluster.ca.certificate()));
        ProtocolException e = attack(m, Role.DESTINATION, Reason.CERTIFICATE);
        assertTrue(e.getMessage().contains("TLS"), e.getMessage());
        // and the hypervisor side refuses to run with it at all: a TLS certificate binds no measurement
        assertEquals(Reason.UNATTESTED, assertThrows(ProtocolException.class, () -> new HostCredentials(
                AttestationSigner.of(tls), List.of(tlsCert, cluster.ca.certificate()), cluster.goodMeasurement))
                .reason());
    }

    @Test
    void replyPresentingAnotherAttestedHostsChainFailsTheSignature() throws Exception {
        Host h3 = cluster.host("h3");
        Mitm m = new Mitm();
        m.reply = replyWithChain(h3.chain());
        attack(m, Role.SOURCE, Reason.TAMPERED);
    }

    @Test
    void replyFromAnAttestedHostOtherThanTheRequestedDestinationIsRefused() throws Exception {
        Host h3 = cluster.host("h3");
        Initiator i = new Initiator(h1.credentials(), h1.config(), SECURE, TestCluster.VM, "h2");
        ProtocolException e = attack(i, responder(h3), new Mitm(), Role.SOURCE, Reason.POLICY);
        assertTrue(e.getMessage().contains("wrong host"), e.getMessage());
    }

    @Test
    void destinationThePolicyDoesNotLetReceiveTheVmIsRefusedAtBothEnds() throws Exception {
        Host x = cluster.host("x9"); // the test policy lets only h* receive
        attack(initiator(h1), responder(x), new Mitm(), Role.DESTINATION, Reason.POLICY);
        // a destination that would accept anyway is refused by the source
        Policy lax = cluster.policy(1).allowReceive("x*", "*").build();
        // same serial, other content: each host only ever saw its own copy
        x.store = cluster.store(lax);
        attack(initiator(h1), responder(x), new Mitm(), Role.SOURCE, Reason.POLICY);
    }

    @Test
    void smallOrderEphemeralKeyInHelloIsRefused() throws Exception {
        Mitm m = new Mitm();
        m.hello = b -> {
            byte[] c = b.clone();
            java.util.Arrays.fill(c, H_EPHEMERAL, H_EPHEMERAL + 32, (byte) 0);
            return c;
        };
        attack(m, Role.DESTINATION, Reason.MALFORMED);
    }

    // ---------------------------------------------------------------- policy serials

    @Test
    void sourceWithAWithheldPolicyUpdateIsRefusedByDestination() throws Exception {
        h2.store = cluster.store(cluster.policy(2).build());
        ProtocolException e = attack(initiator(h1), responder(h2), new Mitm(), Role.DESTINATION, Reason.REPLAY);
        assertTrue(e.getMessage().contains("withheld"), e.getMessage());
    }

    @Test
    void destinationWithAWithheldPolicyUpdateIsRefusedBySourceAndRefusesItself() throws Exception {
        h1.store = cluster.store(cluster.policy(2).build());
        // the destination learns from the signed HELLO that it is behind
        ProtocolException e = attack(initiator(h1), responder(h2), new Mitm(), Role.DESTINATION, Reason.POLICY);
        assertTrue(e.getMessage().contains("install policy serial 2"), e.getMessage());
    }

    @Test
    void destinationBehindIsRefusedBySource() throws Exception {
        h1.store = cluster.store(cluster.policy(2).build());
        Mitm m = new Mitm();
        // the attacker hides the source's serial from the destination...
        m.hello = b -> {
            byte[] c = b.clone();
            ByteBuffer.wrap(c).putLong(H_SERIAL, 1);
            return c;
        };
        // ...and the destination's reply still says serial 1, which the source refuses
        attack(initiator(h1), responder(h2), m, Role.SOURCE, Reason.REPLAY);
    }

    @Test
    void withheldUpdateCannotBeHiddenByRewritingTheSerialTheSourceSent() throws Exception {
        h2.store = cluster.store(cluster.policy(2).build());
        Mitm m = new Mitm();
        m.hello = b -> {
            byte[] c = b.clone();
            ByteBuffer.wrap(c).putLong(H_SERIAL, 2);
            return c;
        };
        m.reply = b -> {
            byte[] c = b.clone();
            ByteBuffer.wrap(c).putLong(R_SERIAL, 1);
            return c;
        };
        // the destination signed serial 2 for the source; the source's transcript says 1
        attack(initiator(h1), responder(h2), m, Role.SOURCE, Reason.TAMPERED);
    }

    @Test
    void replayedOldPolicyCannotRollADestinationBack() throws Exception {
        Policy old = cluster.policy(1).build();
        h2.store = cluster.store(cluster.policy(2).build());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> h2.store.accept(cluster.ca.signPolicy(old), TestCluster.NOW));
        assertEquals(Reason.REPLAY, e.reason());
        // so a source still on serial 1 stays refused
        attack(initiator(h1), responder(h2), new Mitm(), Role.DESTINATION, Reason.REPLAY);
    }

    @Test
    void aHandshakeWithoutAnInstalledPolicyIsRefused() throws Exception {
        h2.store = new org.sealift.protocol.pki.PolicyStore(cluster.ca.trust());
        attack(initiator(h1), responder(h2), new Mitm(), Role.DESTINATION, Reason.POLICY);
    }

    // ---------------------------------------------------------------- secrets

    @Test
    void failedHandshakeLeavesNoUsableStateAndARetryIsANewInitiator() throws Exception {
        Initiator i = initiator(h1);
        i.hello();
        assertThrows(ProtocolException.class, () -> i.onHelloReply(SECURE, new byte[8]));
        assertTrue(i.isFailed());
        assertThrows(IllegalStateException.class, i::result);
        assertThrows(IllegalStateException.class, i::hello);
    }

    @Test
    void closingTheResultDestroysTheSessionKeys() throws Exception {
        Session s = run(h1, h2);
        s.destination().close();
        assertTrue(s.destination().keys().isDestroyed());
        assertThrows(IllegalStateException.class, () -> s.destination().keys().controlKey(Role.SOURCE).getEncoded());
        // the other side's copy is its own
        assertEquals(32, s.source().keys().controlKey(Role.SOURCE).getEncoded().length);
    }

    @Test
    void helloCarriesNothingSecret() throws Exception {
        // the HELLO and HELLO_REPLY travel in clear through dom0: no key material may appear in them
        Session s = run(h1, h2);
        List<byte[]> secrets = new ArrayList<>();
        for (Role r : Role.values()) {
            secrets.add(s.source().keys().controlKey(r).getEncoded());
        }
        secrets.add(s.source().keys().sealingKey().getEncoded());
        for (byte[] message : List.of(s.hello(), s.reply(), s.finish())) {
            for (byte[] secret : secrets) {
                assertFalse(contains(message, java.util.Arrays.copyOf(secret, 8)));
            }
        }
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
