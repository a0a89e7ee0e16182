package org.sealift.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.StreamHeader;

/**
 * Known-answer tests. Expected values were not produced by this code: the HKDF ones are RFC 5869 Appendix A
 * (cases 1–3, SHA-256); the X25519 one is RFC 7748 §6.1; the SMP1 label outputs were computed once with OpenSSL
 * 3.0 from the command line:
 *
 * <pre>
 * SS=4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742     # RFC 7748 §6.1 shared secret
 * NS=000102..1f  ND=202122..3f  TH=404142..5f                              # 32 bytes each, counting up
 * openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:$SS -kdfopt hexsalt:$NS$ND \
 *     -kdfopt hexinfo:$(echo -n SMP1/key/control/s2d | xxd -p)$TH HKDF           # and so on for each label
 * </pre>
 */
class KeyScheduleTest {

    private static final HexFormat HEX = HexFormat.of();

    private static byte[] hex(String s) {
        return HEX.parseHex(s);
    }

    private static byte[] counting(int from, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    private static byte[] hkdf(byte[] ikm, byte[] salt, byte[] info, int length) {
        return KeySchedule.hkdfExpand(KeySchedule.hkdfExtract(salt, ikm), info, length);
    }

    @Test
    void hkdfMatchesRfc5869TestCase1() {
        byte[] ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        byte[] salt = hex("000102030405060708090a0b0c");
        assertArrayEquals(hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"),
                KeySchedule.hkdfExtract(salt, ikm));
        assertArrayEquals(hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
                hkdf(ikm, salt, hex("f0f1f2f3f4f5f6f7f8f9"), 42));
    }

    @Test
    void hkdfMatchesRfc5869TestCase2LongInputs() {
        assertArrayEquals(hex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                + "cc30c58179ec3e87c14c01d5c1f3434f1d87"),
                hkdf(counting(0x00, 80), counting(0x60, 80), counting(0xb0, 80), 82));
    }

    @Test
    void hkdfMatchesRfc5869TestCase3EmptySaltAndInfo() {
        byte[] ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        assertArrayEquals(hex("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"),
                KeySchedule.hkdfExtract(new byte[0], ikm));
        assertArrayEquals(hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
                hkdf(ikm, new byte[0], new byte[0], 42));
    }

    @Test
    void x25519MatchesRfc7748Section61InBothDirections() throws Exception {
        PrivateKey alice = X25519.decodePrivate(
                hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        PrivateKey bob = X25519.decodePrivate(
                hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        byte[] alicePub = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        byte[] bobPub = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        byte[] expected = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assertArrayEquals(expected, X25519.agree(alice, bobPub));
        assertArrayEquals(expected, X25519.agree(bob, alicePub));
    }

    @Test
    void rawPublicKeyEncodingRoundTrips() throws Exception {
        KeyPair kp = X25519.generate(new SecureRandom());
        byte[] raw = X25519.encode(kp.getPublic());
        assertEquals(32, raw.length);
        assertArrayEquals(raw, X25519.encode(X25519.decodePublic(raw)));
    }

    @Test
    void smallOrderEphemeralKeyIsRefusedBecauseTheSecretWouldBeZero() throws Exception {
        PrivateKey own = X25519.generate(new SecureRandom()).getPrivate();
        // u = 0 and u = 1 are points of small order: X25519 with them is all zeros for every private key
        for (byte[] lowOrder : List.of(new byte[32], hex("0100000000000000000000000000000000000000000000000000000000000000"))) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> X25519.agree(own, lowOrder));
            assertEquals(Reason.MALFORMED, e.reason());
        }
    }

    @Test
    void smp1LabelsDeriveTheValuesComputedWithOpenssl() throws Exception {
        byte[] secret = X25519.agree(
                X25519.decodePrivate(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")),
                hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
        try (KeySchedule ks = KeySchedule.extract(secret, counting(0x00, 32), counting(0x20, 32),
                counting(0x40, 32))) {
            assertArrayEquals(hex("4e882ac62f6923aa4cb801c163f18be2a15183138414db5f95b4e8f26851b7b1"),
                    ks.expand(KeySchedule.LABEL_CONTROL_SOURCE_TO_DESTINATION));
            assertArrayEquals(hex("88ebfa8843a2056aa64100a51174905312e01719b610ba4c536bb564343d7db1"),
                    ks.expand(KeySchedule.LABEL_CONTROL_DESTINATION_TO_SOURCE));
            assertArrayEquals(hex("2c61b72bdd4d5a11b078e1ace2272f0f2684947f36bd53b493f0de87dcb712cc"),
                    ks.expand(KeySchedule.LABEL_SEALING));
            assertArrayEquals(hex("7557e9c246cc7a98d410f2229e7147eca0067926f94e8e9363f6c0b1e767105c"),
                    ks.confirmationKey(Role.DESTINATION));
            assertArrayEquals(hex("0532ef1eff8d62101b09f42089d30de98588764a139f8b626a94c5a887311ab0"),
                    ks.confirmationKey(Role.SOURCE));
            try (SessionKeys keys = ks.sessionKeys()) {
                assertArrayEquals(hex("4e882ac62f6923aa4cb801c163f18be2a15183138414db5f95b4e8f26851b7b1"),
                        keys.controlKey(Role.SOURCE).getEncoded());
                assertArrayEquals(hex("88ebfa8843a2056aa64100a51174905312e01719b610ba4c536bb564343d7db1"),
                        keys.controlKey(Role.DESTINATION).getEncoded());
                assertArrayEquals(hex("2c61b72bdd4d5a11b078e1ace2272f0f2684947f36bd53b493f0de87dcb712cc"),
                        keys.sealingKey().getEncoded());
                assertEquals("AES", keys.sealingKey().getAlgorithm());
            }
        }
    }

    @Test
    void everyLabelGivesADifferentKeySoNoKeyServesTwoPurposes() {
        try (KeySchedule ks = KeySchedule.extract(new byte[32], new byte[32], new byte[32], new byte[32])) {
            Set<String> seen = new HashSet<>();
            for (String label : List.of(KeySchedule.LABEL_CONTROL_SOURCE_TO_DESTINATION,
                    KeySchedule.LABEL_CONTROL_DESTINATION_TO_SOURCE, KeySchedule.LABEL_SEALING,
                    KeySchedule.LABEL_CONFIRM_DESTINATION, KeySchedule.LABEL_CONFIRM_SOURCE)) {
                assertTrue(seen.add(HEX.formatHex(ks.expand(label))), label);
            }
        }
    }

    @Test
    void anotherTranscriptOrNonceGivesOtherKeys() {
        byte[] secret = counting(1, 32);
        byte[] base;
        try (KeySchedule ks = KeySchedule.extract(secret, counting(0, 32), counting(32, 32), counting(64, 32))) {
            base = ks.expand(KeySchedule.LABEL_SEALING);
        }
        try (KeySchedule ks = KeySchedule.extract(secret, counting(0, 32), counting(32, 32), counting(65, 32))) {
            assertFalse(java.util.Arrays.equals(base, ks.expand(KeySchedule.LABEL_SEALING)));
        }
        try (KeySchedule ks = KeySchedule.extract(secret, counting(1, 32), counting(32, 32), counting(64, 32))) {
            assertFalse(java.util.Arrays.equals(base, ks.expand(KeySchedule.LABEL_SEALING)));
        }
    }

    @Test
    void closedSessionKeysAreZeroedAndRefuseUse() {
        SessionKeys keys;
        try (KeySchedule ks = KeySchedule.extract(counting(1, 32), new byte[32], new byte[32], new byte[32])) {
            keys = ks.sessionKeys();
        }
        keys.close();
        assertTrue(keys.isDestroyed());
        assertThrows(IllegalStateException.class, () -> keys.sealingKey().getEncoded());
        assertThrows(IllegalStateException.class, () -> keys.controlKey(Role.SOURCE).getEncoded());
    }

    @Test
    void closedScheduleRefusesToExpand() {
        KeySchedule ks = KeySchedule.extract(counting(1, 32), new byte[32], new byte[32], new byte[32]);
        ks.close();
        assertThrows(IllegalStateException.class, () -> ks.expand(KeySchedule.LABEL_SEALING));
    }

    @Test
    void transcriptHashMatchesTheValueComputedWithOpenssl() {
        // H=5345414c494654000001000100000000   (secure v1 stream header, both directions)
        // printf 'SMP1/transcript' > t; echo $H $H 00000001 0000000000000007 0000000000000009 00000005 \
        //   | xxd -r -p >> t; printf hello >> t; echo 00000005 | xxd -r -p >> t; printf reply >> t
        // openssl dgst -sha256 t
        byte[] header = StreamHeader.secureV1().encode();
        assertEquals("5345414c494654000001000100000000", HEX.formatHex(header));
        assertArrayEquals(hex("5b41b5b6fb00955b7a5a2716d93fd673e476b384fc7741a3791b97e2da419eae"),
                Transcript.hash(header, header, 1, 7, 9, "hello".getBytes(), "reply".getBytes()));
    }

    @Test
    void transcriptSeparatesHelloFromReplyByLength() {
        // without the length prefixes "hel"+"loreply" and "hello"+"reply" would hash alike
        byte[] h = StreamHeader.secureV1().encode();
        assertFalse(java.util.Arrays.equals(Transcript.hash(h, h, 1, 7, 9, "hel".getBytes(), "loreply".getBytes()),
                Transcript.hash(h, h, 1, 7, 9, "hello".getBytes(), "reply".getBytes())));
    }

    @Test
    void transcriptCoversBothStreamHeadersSoPlainModeOrAnotherVersionChangesIt() {
        byte[] secure = StreamHeader.secureV1().encode();
        byte[] plain = StreamHeader.plainV1().encode();
        byte[] th = Transcript.hash(secure, secure, 1, 7, 9, new byte[0], new byte[0]);
        assertFalse(java.util.Arrays.equals(th, Transcript.hash(plain, secure, 1, 7, 9, new byte[0], new byte[0])));
        assertFalse(java.util.Arrays.equals(th, Transcript.hash(secure, plain, 1, 7, 9, new byte[0], new byte[0])));
        assertFalse(java.util.Arrays.equals(th, Transcript.hash(secure, secure, 1, 7, 8, new byte[0], new byte[0])));
    }
}
