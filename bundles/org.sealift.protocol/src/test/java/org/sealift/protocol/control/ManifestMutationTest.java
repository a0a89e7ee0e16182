package org.sealift.protocol.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Randomly corrupted manifest plaintexts (fixed seed): every one must be refused with a ProtocolException, because
 * any change to the covered fields breaks the digest and any change to the structure is malformed. Only a change
 * confined to a process key can still decode (keys are outside the digest and authenticated by the AEAD instead).
 */
class ManifestMutationTest {

    @Test
    void corruptedManifestsAreRefusedWithProtocolExceptionsOnly() {
        byte[] valid = ManifestTest.sample().encode();
        Random random = new Random(1127);
        for (int round = 0; round < 3000; round++) {
            byte[] bytes = valid.clone();
            int pos = random.nextInt(bytes.length);
            bytes[pos] ^= (byte) (1 + random.nextInt(255));
            if (random.nextInt(8) == 0) {
                bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length + 40));
            }
            try {
                Manifest.decode(bytes);
                if (!insideAKey(pos) || bytes.length != valid.length) {
                    fail("round " + round + ": a change at octet " + pos + " was accepted");
                }
            } catch (ProtocolException e) {
                assertEquals(true, e.reason() == Reason.MALFORMED || e.reason() == Reason.MANIFEST_MISMATCH,
                        e.getMessage());
            } catch (RuntimeException e) {
                fail("round " + round + ": " + e, e);
            }
        }
    }

    /** Key fields of the sample: process 7 at 48+16, process 9 at 48+48+64+32+16. */
    private static boolean insideAKey(int pos) {
        int k7 = 48 + 16;
        int k9 = 48 + 48 + 64 + 32 + 16;
        return (pos >= k7 && pos < k7 + 32) || (pos >= k9 && pos < k9 + 32);
    }
}
