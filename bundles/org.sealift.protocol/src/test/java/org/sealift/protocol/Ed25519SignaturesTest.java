package org.sealift.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

/**
 * The BouncyCastle path signs exactly as the JDK provider did (Ed25519 is deterministic), accepts what the JDK signs,
 * and refuses anything else without throwing. RFC 8032 §7.1 test 2 pins it to the specification.
 */
class Ed25519SignaturesTest {

    static KeyPair ed25519() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    static byte[] jdkSign(KeyPair kp, byte[] message) throws Exception {
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(kp.getPrivate());
        s.update(message);
        return s.sign();
    }

    @Test
    void signaturesAreTheJdksOctetsAndEachSideAcceptsTheOther() throws Exception {
        KeyPair kp = ed25519();
        for (int len : new int[] {0, 1, 53, 200, 4096}) {
            byte[] message = new byte[len];
            new java.util.Random(len).nextBytes(message);
            byte[] ours = AttestationSigner.of(kp).sign(message);
            assertArrayEquals(jdkSign(kp, message), ours, "length " + len);
            assertTrue(AttestationSigner.verify(kp.getPublic(), message, ours));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(kp.getPublic());
            v.update(message);
            assertTrue(v.verify(ours));
        }
    }

    @Test
    void rfc8032TestVector2() throws Exception {
        // RFC 8032 §7.1, TEST 2: secret key, public key, message 0x72, signature
        HexFormat hex = HexFormat.of();
        byte[] seed = hex.parseHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
        byte[] message = hex.parseHex("72");
        byte[] expected = hex.parseHex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        var key = new org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters(seed, 0);
        assertArrayEquals(expected, Ed25519Signatures.sign(key, message));
        var pub = java.security.KeyFactory.getInstance("Ed25519").generatePublic(new java.security.spec.X509EncodedKeySpec(
                hex.parseHex("302a300506032b6570032100"
                        + "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")));
        assertTrue(Ed25519Signatures.verify(pub, message, expected));
    }

    @Test
    void anythingButTheSignerAndTheMessageIsRefusedWithoutAnException() throws Exception {
        KeyPair kp = ed25519();
        byte[] message = "READY for migration 42".getBytes(StandardCharsets.US_ASCII);
        byte[] sig = AttestationSigner.of(kp).sign(message);

        byte[] otherMessage = message.clone();
        otherMessage[0] ^= 1;
        assertFalse(AttestationSigner.verify(kp.getPublic(), otherMessage, sig), "another message");
        for (int i : new int[] {0, 31, 32, 63}) {
            byte[] bad = sig.clone();
            bad[i] ^= 0x40;
            assertFalse(AttestationSigner.verify(kp.getPublic(), message, bad), "signature octet " + i + " changed");
        }
        assertFalse(AttestationSigner.verify(ed25519().getPublic(), message, sig), "another key");
        assertFalse(AttestationSigner.verify(kp.getPublic(), message, java.util.Arrays.copyOf(sig, 63)), "short");
        assertFalse(AttestationSigner.verify(kp.getPublic(), message, java.util.Arrays.copyOf(sig, 65)), "long");
        assertFalse(AttestationSigner.verify(kp.getPublic(), message, null), "none");
        assertFalse(AttestationSigner.verify(null, message, sig), "no key");
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair p256 = ec.generateKeyPair();
        assertFalse(AttestationSigner.verify(p256.getPublic(), message, sig), "a key of another algorithm");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttestationSigner.of(p256));
        assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
    }
}
