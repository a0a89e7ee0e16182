package org.sealift.agent.spi;

/**
 * Guest page frames {@code first .. first+count-1} (4 KiB pages).
 *
 * @param first first guest pfn
 * @param count number of pages, at least 1
 */
public record PfnRange(long first, long count) {

    public PfnRange {
        if (first < 0 || count < 1) {
            throw new IllegalArgumentException("page range " + first + "+" + count
                    + " is invalid: the first pfn must be 0 or more and the count 1 or more");
        }
    }

    /** One past the last pfn. */
    public long end() {
        return first + count;
    }

    public boolean contains(long pfn) {
        return pfn >= first && pfn < end();
    }

    public boolean overlaps(PfnRange other) {
        return first < other.end() && other.first < end();
    }

    @Override
    public String toString() {
        return first + ".." + (end() - 1);
    }
}
