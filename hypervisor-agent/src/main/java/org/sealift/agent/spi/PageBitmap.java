package org.sealift.agent.spi;

import java.util.Arrays;

/** One bit per guest page: dirty pages from the dirty log, or the (public) set of protected pfns. */
public final class PageBitmap {

    private final long pageCount;
    private final long[] words;

    public PageBitmap(long pageCount, long[] words) {
        if (pageCount < 0 || words.length != wordsFor(pageCount)) {
            throw new IllegalArgumentException("a bitmap of " + pageCount + " pages needs " + wordsFor(pageCount)
                    + " words, got " + words.length);
        }
        this.pageCount = pageCount;
        this.words = words.clone();
    }

    public static int wordsFor(long pageCount) {
        return (int) ((pageCount + 63) >>> 6);
    }

    public long pageCount() {
        return pageCount;
    }

    public boolean get(long pfn) {
        if (pfn < 0 || pfn >= pageCount) {
            throw new IndexOutOfBoundsException("pfn " + pfn + " is outside 0.." + (pageCount - 1));
        }
        return (words[(int) (pfn >>> 6)] & (1L << (pfn & 63))) != 0;
    }

    public long cardinality() {
        long n = 0;
        for (long w : words) {
            n += Long.bitCount(w);
        }
        return n;
    }

    /** The next set pfn at or after {@code from}, or -1. */
    public long nextSet(long from) {
        if (from >= pageCount) {
            return -1;
        }
        int w = (int) (from >>> 6);
        long word = words[w] & (-1L << (from & 63));
        while (true) {
            if (word != 0) {
                long pfn = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return pfn < pageCount ? pfn : -1;
            }
            if (++w >= words.length) {
                return -1;
            }
            word = words[w];
        }
    }

    /** The set pfns in ascending order. */
    public long[] toPfns() {
        long[] out = new long[(int) cardinality()];
        int i = 0;
        for (long p = nextSet(0); p >= 0; p = nextSet(p + 1)) {
            out[i++] = p;
        }
        return out;
    }

    /** A copy of the words (bit {@code pfn & 63} of word {@code pfn >> 6}). */
    public long[] words() {
        return words.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PageBitmap b && b.pageCount == pageCount && Arrays.equals(words, b.words);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(pageCount) * 31 + Arrays.hashCode(words);
    }

    @Override
    public String toString() {
        return cardinality() + " of " + pageCount + " pages";
    }
}
