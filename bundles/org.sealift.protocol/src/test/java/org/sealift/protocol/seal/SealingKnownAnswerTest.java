package org.sealift.protocol.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.sealift.protocol.seal.Fixtures.KEY;
import static org.sealift.protocol.seal.Fixtures.KEY_BYTES;
import static org.sealift.protocol.seal.Fixtures.MIGRATION;
import static org.sealift.protocol.seal.Fixtures.VM;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/**
 * Fixed key, counter and AAD give fixed ciphertext and tag. The expected values were computed once with Python
 * 'cryptography' 48.0 (OpenSSL 3.0 backend) straight from docs/protocol.md §4.2.1:
 * <pre>
 *   key = bytes(range(32)); mid = bytes(range(0xa0, 0xb0)); vm = UUID("00112233-4455-6677-8899-aabbccddeeff").bytes
 *   page: nonce = pack(">IQ", 0x50414745, 0); aad = pack(">B", 1) + mid + vm + pack(">IQQ", 7, 0x12345, 3)
 *         plaintext = bytes(i % 251 for i in range(4096))
 *   vcpu: nonce = pack(">IQ", 0x56435055, 1); aad = pack(">B", 2) + mid + vm + pack(">IQQ", 7, 2, 9)
 *         plaintext = b"\x5a" * 64
 * </pre>
 * and each test also recomputes them with BouncyCastle's GCMBlockCipher over a nonce and AAD laid out by hand here,
 * so neither the spec constants nor the layout can drift silently.
 */
class SealingKnownAnswerTest {

    private static final HexFormat HEX = HexFormat.of();

    private static byte[] bouncyCastleGcm(String nonceHex, String aadHex, byte[] plaintext) throws Exception {
        GCMBlockCipher gcm = (GCMBlockCipher) GCMBlockCipher.newInstance(AESEngine.newInstance());
        gcm.init(true, new AEADParameters(new KeyParameter(KEY_BYTES), 128, HEX.parseHex(nonceHex),
                HEX.parseHex(aadHex)));
        byte[] out = new byte[gcm.getOutputSize(plaintext.length)];
        int n = gcm.processBytes(plaintext, 0, plaintext.length, out, 0);
        gcm.doFinal(out, n);
        return out;
    }

    @Test
    void firstSealedPageHasTheRecordedCiphertextAndTag() throws Exception {
        byte[] page = new byte[4096];
        for (int i = 0; i < page.length; i++) {
            page[i] = (byte) (i % 251);
        }
        SealedBlob blob = new Sealer(KEY, MIGRATION, VM).sealPage(7, 0x12345, 3, page, 0);
        byte[] body = blob.body();

        assertEquals("01000000" + "00000007" + "0000000000000000" + "0000000000012345" + "0000000000000003",
                HEX.formatHex(body, 0, 32), "header: kind, reserved, process, counter, pfn, version");
        assertEquals("63605391e40393218beddd9ff5355c44", HEX.formatHex(body, 32, 48));
        assertEquals("9de2e2d8db7b06d9ccd44c8d887a007b", HEX.formatHex(blob.tag()));
        assertEquals("3f081e43ee61add8766fb5dee8457cca52b0c7d5cfcf1b9587c2a559a1a49490",
                HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOfRange(body, 32, body.length))));

        byte[] expected = bouncyCastleGcm("50414745" + "0000000000000000",
                "01" + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" + "00112233445566778899aabbccddeeff" + "00000007"
                        + "0000000000012345" + "0000000000000003", page);
        assertArrayEquals(expected, Arrays.copyOfRange(body, 32, body.length));
    }

    @Test
    void vcpuContextUsesItsOwnNoncePrefixAndTheSharedCounter() throws Exception {
        Sealer sealer = new Sealer(KEY, MIGRATION, VM);
        sealer.sealPage(1, 1, 1, new byte[4096], 0); // takes counter 0
        SealedBlob blob = sealer.sealVcpu(7, 2, 9, Fixtures.fill(64, 0x5a));
        assertEquals(1, blob.counter());
        String recorded = "4d41824b28acf7c844ca1933afddbaba38ec61741c08034a1860a646902eb899a7fe841003f924fc9fbff3080d"
                + "524223e77d4058f3796fe8eab8602646ef3ba8090b71e24da0d8b8e5e138d2d545588f";
        byte[] body = blob.body();
        assertEquals(recorded, HEX.formatHex(body, 32, body.length));
        byte[] expected = bouncyCastleGcm("56435055" + "0000000000000001",
                "02" + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" + "00112233445566778899aabbccddeeff" + "00000007"
                        + "0000000000000002" + "0000000000000009", Fixtures.fill(64, 0x5a));
        assertEquals(recorded, HEX.formatHex(expected));
    }

    @Test
    void openerReturnsThePlaintextOfTheKnownAnswer() throws Exception {
        byte[] page = Fixtures.page(3);
        SealedBlob blob = new Sealer(KEY, MIGRATION, VM).sealPage(7, 0x12345, 3, page, 0);
        assertArrayEquals(page, new Opener(KEY, MIGRATION, VM).open(blob));
    }
}
