package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.SecureRandom;

import org.junit.jupiter.api.Test;
import org.sealift.agent.spi.ProtectedProcessSpec;

/** A protected process's plaintext memory: wiped, and reused by the next process only zeroed and no longer shared. */
class ProtectedProcessTest {

    private static final int CHUNK = 256; // pages per plaintext chunk
    private final ProtectedProcess.FreeChunks pool = new ProtectedProcess.FreeChunks(4);

    private ProtectedProcess process(String name, long firstPfn, int pages) {
        return new ProtectedProcess(1, ProtectedProcessSpec.of(name, firstPfn, pages), 1, new SecureRandom(), pool);
    }

    private static void fill(ProtectedProcess p, int index, byte value) {
        ByteBuffer b = ByteBuffer.allocate(ProtectedProcess.PAGE);
        while (b.hasRemaining()) {
            b.put(value);
        }
        b.flip();
        p.install(index, b, 1, null);
    }

    private static int nonZero(ByteBuffer page) {
        int n = 0;
        for (int i = 0; i < page.capacity(); i++) {
            n += page.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    void aWipedProcessesMemoryComesBackToTheNextProcessZeroedAndIsNoLongerItsOwn() {
        ProtectedProcess vault = process("vault", 0, CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            fill(vault, i, (byte) 0x5a);
        }
        vault.wipePages();
        assertEquals(1, pool.size(), "the wiped full chunk is kept for reuse");

        ProtectedProcess next = process("next", 4096, CHUNK);
        fill(next, 0, (byte) 0x33); // takes the pooled chunk
        assertEquals(0, pool.size(), "taken instead of a fresh allocation");
        for (int i = 1; i < CHUNK; i++) {
            assertEquals(0, nonZero(next.plainPage(i)), "page " + i + " of the reused chunk holds nothing of vault's");
        }
        // the wiped process no longer owns that memory: a late write lands in a fresh chunk of its own
        fill(vault, 3, (byte) 0x11);
        assertEquals(0, nonZero(next.plainPage(3)), "a write to the wiped process never reaches its old chunk");
        assertEquals(ProtectedProcess.PAGE, nonZero(vault.plainPage(3)));
        assertEquals(0x33, next.plainPage(0).get(100));
    }

    @Test
    void aPartialChunkIsNotPooledAndThePoolKeepsNoMoreThanItsLimit() {
        ProtectedProcess small = process("small", 0, 10);
        fill(small, 0, (byte) 1);
        small.wipePages();
        assertEquals(0, pool.size(), "a 10-page chunk fits no full-size request");

        ProtectedProcess big = process("big", 0, 6 * CHUNK);
        for (int c = 0; c < 6; c++) {
            fill(big, c * CHUNK, (byte) 2);
        }
        big.wipePages();
        assertEquals(4, pool.size(), "six wiped chunks, a pool of 4 MiB");
        big.wipePages();
        assertEquals(4, pool.size(), "a second wipe releases nothing twice");
        assertTrue(nonZero(big.plainPage(0)) == 0, "the wiped process reads zero");
    }
}
