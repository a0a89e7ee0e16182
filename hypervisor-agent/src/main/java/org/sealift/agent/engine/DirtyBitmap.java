package org.sealift.agent.engine;

import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * A set of page frame numbers as a bitmap of longs (bit {@code pfn & 63} of word {@code pfn >>> 6}), the shape of
 * Xen's dirty log. The engine walks it word by word so that clean memory costs one comparison per 64 pages.
 */
public final class DirtyBitmap {

    private final long[] words;
    private final long pages;

    public DirtyBitmap(long pages) {
        if (pages < 0 || pages > (long) Integer.MAX_VALUE * 64) {
            throw new IllegalArgumentException("bitmap of " + pages + " pages is out of range");
        }
        this.pages = pages;
        this.words = new long[(int) ((pages + 63) >>> 6)];
    }

    /** Wraps words as handed out by a backend (not copied). */
    public DirtyBitmap(long[] words, long pages) {
        if (words.length < (pages + 63) >>> 6) {
            throw new IllegalArgumentException("bitmap has " + words.length + " words, " + pages + " pages need "
                    + ((pages + 63) >>> 6));
        }
        this.words = words;
        this.pages = pages;
    }

    /** A bitmap with every page set (round 0 sends all memory). */
    public static DirtyBitmap all(long pages) {
        DirtyBitmap b = new DirtyBitmap(pages);
        Arrays.fill(b.words, -1L);
        int tail = (int) (pages & 63);
        if (tail != 0) {
            b.words[b.words.length - 1] = (1L << tail) - 1;
        }
        return b;
    }

    public long pages() {
        return pages;
    }

    public long[] words() {
        return words;
    }

    public void set(long pfn) {
        check(pfn);
        words[(int) (pfn >>> 6)] |= 1L << pfn;
    }

    public boolean get(long pfn) {
        check(pfn);
        return (words[(int) (pfn >>> 6)] & (1L << pfn)) != 0;
    }

    public void clear(long pfn) {
        check(pfn);
        words[(int) (pfn >>> 6)] &= ~(1L << pfn);
    }

    /** Adds every page of {@code other} (same size) to this one. */
    public void or(DirtyBitmap other) {
        if (other.pages != pages) {
            throw new IllegalArgumentException("bitmaps of " + pages + " and " + other.pages + " pages");
        }
        for (int i = 0; i < words.length; i++) {
            words[i] |= other.words[i];
        }
    }

    public long cardinality() {
        long n = 0;
        for (long w : words) {
            n += Long.bitCount(w);
        }
        return n;
    }

    /** Calls {@code action} with each set pfn in increasing order. */
    public void forEach(LongConsumer action) {
        for (int i = 0; i < words.length; i++) {
            long w = words[i];
            while (w != 0) {
                int bit = Long.numberOfTrailingZeros(w);
                action.accept(((long) i << 6) + bit);
                w &= w - 1;
            }
        }
    }

    /**
     * Fills {@code out} with up to {@code out.length} set pfns at or after {@code fromPfn}; returns how many.
     * Lets a producer take the bitmap in batches without a lambda per page.
     */
    public int next(long fromPfn, long[] out) {
        int n = 0;
        if (fromPfn >= pages) {
            return 0;
        }
        int i = (int) (fromPfn >>> 6);
        long w = words[i] & (-1L << fromPfn);
        while (true) {
            while (w != 0) {
                if (n == out.length) {
                    return n;
                }
                int bit = Long.numberOfTrailingZeros(w);
                out[n++] = ((long) i << 6) + bit;
                w &= w - 1;
            }
            if (++i >= words.length) {
                return n;
            }
            w = words[i];
        }
    }

    private void check(long pfn) {
        if (pfn < 0 || pfn >= pages) {
            throw new IndexOutOfBoundsException("pfn " + pfn + " outside guest memory of " + pages + " pages");
        }
    }
}
