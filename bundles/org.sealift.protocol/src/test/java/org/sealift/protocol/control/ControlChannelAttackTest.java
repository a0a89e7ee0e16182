package org.sealift.protocol.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/** dom0 carries the control records and may drop, reorder, replay, duplicate or change them. */
class ControlChannelAttackTest {

    private static final byte[] KEY_BYTES = new byte[32];
    static {
        for (int i = 0; i < 32; i++) {
            KEY_BYTES[i] = (byte) i;
        }
    }
    private static final SecretKey KEY = new SecretKeySpec(KEY_BYTES, "AES");
    private static final MigrationId MIGRATION = MigrationId.of(HexFormat.of().parseHex(
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
    private static final byte[] MANIFEST_PLAINTEXT = new byte[96];
    private static final byte[] RELEASE_TOKEN = "release-token".getBytes(StandardCharsets.US_ASCII);

    private final ControlSender source = new ControlSender(KEY, Role.SOURCE, MIGRATION);
    private final ControlReceiver destination = new ControlReceiver(KEY, Role.SOURCE, MIGRATION);

    @Test
    void consecutiveRecordsOpenInOrder() throws Exception {
        WireRecord manifest = source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT);
        WireRecord release = source.seal(RecordType.RELEASE, RELEASE_TOKEN);
        assertEquals(0, manifest.sequence());
        assertEquals(1, release.sequence());
        assertArrayEquals(MANIFEST_PLAINTEXT, destination.open(manifest));
        assertArrayEquals(RELEASE_TOKEN, destination.open(release));
        assertEquals(2, destination.expectedSequence());
    }

    @Test
    void knownAnswerForAReadyRecordMatchesAnIndependentImplementation() throws Exception {
        // expected value computed once with Python 'cryptography' 48.0 (OpenSSL 3.0) from docs/protocol.md §5:
        //   AESGCM(bytes(range(32))).encrypt(pack(">IQ", 2, 0), b"sealift-token", pack(">IQ", 0x21, 0) + mid)
        String expected = "df193ba2fb6682032f2f6ee96ba9295c06a231f42e9d7e3a9e0523a1cb";
        WireRecord ready = new ControlSender(KEY, Role.DESTINATION, MIGRATION)
                .seal(RecordType.READY, "sealift-token".getBytes(StandardCharsets.US_ASCII));
        assertEquals(expected, HexFormat.of().formatHex(ready.body()));
        // and the same bytes from BouncyCastle's GCM, with nonce and AAD laid out here by hand
        GCMBlockCipher gcm = (GCMBlockCipher) GCMBlockCipher.newInstance(AESEngine.newInstance());
        byte[] nonce = HexFormat.of().parseHex("00000002" + "0000000000000000");
        byte[] aad = HexFormat.of().parseHex("00000021" + "0000000000000000" + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
        gcm.init(true, new AEADParameters(new KeyParameter(KEY_BYTES), 128, nonce, aad));
        byte[] in = "sealift-token".getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[gcm.getOutputSize(in.length)];
        int n = gcm.processBytes(in, 0, in.length, out, 0);
        gcm.doFinal(out, n);
        assertEquals(expected, HexFormat.of().formatHex(out));
    }

    @Test
    void reorderedControlRecordsAreRejected() throws Exception {
        WireRecord manifest = source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT);
        WireRecord release = source.seal(RecordType.RELEASE, RELEASE_TOKEN);
        ProtocolException e = assertThrows(ProtocolException.class, () -> destination.open(release));
        assertEquals(Reason.REORDERED, e.reason());
        // and the channel stays failed: the manifest arriving late does not repair it
        assertEquals(Reason.REORDERED, assertThrows(ProtocolException.class,
                () -> destination.open(manifest)).reason());
    }

    @Test
    void droppedControlRecordIsDetectedAtTheNextOne() throws Exception {
        source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT); // dom0 drops it
        WireRecord release = source.seal(RecordType.RELEASE, RELEASE_TOKEN);
        assertEquals(Reason.REORDERED, assertThrows(ProtocolException.class,
                () -> destination.open(release)).reason());
    }

    @Test
    void duplicateReleaseIsAReplay() throws Exception {
        destination.open(source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT));
        WireRecord release = source.seal(RecordType.RELEASE, RELEASE_TOKEN);
        destination.open(release);
        ProtocolException e = assertThrows(ProtocolException.class, () -> destination.open(release));
        assertEquals(Reason.REPLAY, e.reason());
    }

    @Test
    void replayedRecordWithItsSequenceRewrittenToTheExpectedOneFailsItsTag() throws Exception {
        WireRecord manifest = source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT);
        destination.open(manifest);
        WireRecord relabelled = new WireRecord(RecordType.MANIFEST, 1, manifest.body());
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class,
                () -> destination.open(relabelled)).reason());
    }

    @Test
    void tamperedManifestRecordFailsItsTag() throws Exception {
        WireRecord manifest = source.seal(RecordType.MANIFEST, MANIFEST_PLAINTEXT);
        byte[] body = manifest.body().clone();
        body[40] ^= 1;
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class,
                () -> destination.open(new WireRecord(RecordType.MANIFEST, 0, body))).reason());
    }

    @Test
    void recordWithItsTypeChangedFailsItsTag() throws Exception {
        // an ABORT body relabelled as RELEASE (both sent by the source, same length rules)
        WireRecord abort = source.seal(RecordType.ABORT, RELEASE_TOKEN);
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class,
                () -> destination.open(new WireRecord(RecordType.RELEASE, 0, abort.body()))).reason());
    }

    @Test
    void controlRecordFromAnotherMigrationFailsEvenUnderTheSameKey() throws Exception {
        MigrationId earlier = MigrationId.of(new byte[16]);
        WireRecord old = new ControlSender(KEY, Role.SOURCE, earlier).seal(RecordType.RELEASE, RELEASE_TOKEN);
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class, () -> destination.open(old)).reason());
    }

    @Test
    void recordSealedByTheOtherDirectionIsNotAccepted() throws Exception {
        // the destination's ABORT reflected back at it as if the source had sent it
        WireRecord abort = new ControlSender(KEY, Role.DESTINATION, MIGRATION).seal(RecordType.ABORT, RELEASE_TOKEN);
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class, () -> destination.open(abort)).reason());
    }

    @Test
    void typeTheSenderNeverSendsIsUnexpected() {
        WireRecord ready = new WireRecord(RecordType.READY, 0, new byte[32]);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> destination.open(ready)).reason());
        WireRecord page = new WireRecord(RecordType.SEALED, 0, new byte[4144]);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> new ControlReceiver(KEY, Role.SOURCE, MIGRATION).open(page)).reason());
    }

    @Test
    void senderRefusesTypesItsRoleNeverSends() {
        assertThrows(IllegalArgumentException.class, () -> source.seal(RecordType.READY, RELEASE_TOKEN));
        assertThrows(IllegalArgumentException.class, () -> source.seal(RecordType.PAGE_BATCH, new byte[16]));
    }
}
