package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class DirtyBitmapTest {

    @Test
    void allSetsExactlyThePagesOfMemoryEvenWithAPartialLastWord() {
        DirtyBitmap b = DirtyBitmap.all(130);
        assertEquals(130, b.cardinality());
        assertTrue(b.get(129));
        List<Long> seen = new ArrayList<>();
        b.forEach(seen::add);
        assertEquals(130, seen.size());
        assertEquals(129L, seen.get(129));
    }

    @Test
    void nextReturnsSetPagesInBatchesInOrder() {
        Random r = new Random(7);
        DirtyBitmap b = new DirtyBitmap(10_000);
        TreeSet<Long> expected = new TreeSet<>();
        for (int i = 0; i < 700; i++) {
            long pfn = r.nextInt(10_000);
            b.set(pfn);
            expected.add(pfn);
        }
        List<Long> got = new ArrayList<>();
        long[] batch = new long[33];
        long from = 0;
        int n;
        while ((n = b.next(from, batch)) > 0) {
            for (int i = 0; i < n; i++) {
                got.add(batch[i]);
            }
            from = batch[n - 1] + 1;
        }
        assertEquals(new ArrayList<>(expected), got);
        assertEquals(expected.size(), b.cardinality());
    }

    @Test
    void nextStartsInsideAWord() {
        DirtyBitmap b = new DirtyBitmap(128);
        b.set(3);
        b.set(5);
        b.set(70);
        long[] out = new long[8];
        int n = b.next(4, out);
        assertArrayEquals(new long[] {5, 70}, Arrays.copyOf(out, n));
    }

    @Test
    void clearOrAndBounds() {
        DirtyBitmap a = new DirtyBitmap(64);
        DirtyBitmap b = new DirtyBitmap(64);
        a.set(1);
        b.set(63);
        a.or(b);
        assertEquals(2, a.cardinality());
        a.clear(1);
        assertFalse(a.get(1));
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> a.set(64));
        assertTrue(e.getMessage().contains("outside guest memory"));
        assertThrows(IllegalArgumentException.class, () -> a.or(new DirtyBitmap(65)));
    }
}
