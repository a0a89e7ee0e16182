package org.sealift.protocol.wire;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Body of a PAGE_BATCH record: normal (unprotected) pages in plaintext and zero markers (docs/protocol.md §4.1).
 * A decoded batch keeps the page data inside the record body and hands out offsets, so a 4 MiB batch is never copied.
 * Protected pages never travel here; they are SEALED records.
 */
public final class PageBatch {

    public static final int PAGE_SIZE = 4096;
    public static final int MAX_PAGES = 1024;
    /** pfns use the low 52 bits of an entry. */
    public static final long MAX_PFN = (1L << 52) - 1;
    public static final int MIN_BODY_LENGTH = 16;
    public static final int MAX_BODY_LENGTH = 8 + 8 * MAX_PAGES + PAGE_SIZE * MAX_PAGES;

    private static final long ZERO_BIT = 1L << 63;
    private static final long RESERVED_BITS = ~ZERO_BIT & ~MAX_PFN;

    private final byte[] body;
    private final long[] pfns;
    private final int[] dataOffsets;

    private PageBatch(byte[] body, long[] pfns, int[] dataOffsets) {
        this.body = body;
        this.pfns = pfns;
        this.dataOffsets = dataOffsets;
    }

    public int count() {
        return pfns.length;
    }

    public long pfn(int index) {
        return pfns[index];
    }

    public boolean isZero(int index) {
        return dataOffsets[index] < 0;
    }

    /** The array that holds the page data (the record body); read-only by contract. */
    public byte[] data() {
        return body;
    }

    /** Offset of page {@code index} in {@link #data()}, or -1 for a zero marker. */
    public int dataOffset(int index) {
        return dataOffsets[index];
    }

    /** A copy of page {@code index}: its data, or 4096 zeros for a zero marker. */
    public byte[] copyPage(int index) {
        int off = dataOffsets[index];
        return off < 0 ? new byte[PAGE_SIZE] : Arrays.copyOfRange(body, off, off + PAGE_SIZE);
    }

    /** True if the 4096 octets at {@code offset} are all zero (the sender then sends a zero marker). */
    public static boolean isZeroPage(byte[] page, int offset) {
        ByteBuffer b = ByteBuffer.wrap(page, offset, PAGE_SIZE);
        while (b.hasRemaining()) {
            if (b.getLong() != 0) {
                return false;
            }
        }
        return true;
    }

    /** Parses and checks a PAGE_BATCH body; the body array is kept, not copied. */
    public static PageBatch decode(byte[] body) throws ProtocolException {
        if (body.length < MIN_BODY_LENGTH || body.length > MAX_BODY_LENGTH) {
            throw malformed("body of " + body.length + " octets is outside [" + MIN_BODY_LENGTH + ", "
                    + MAX_BODY_LENGTH + "]");
        }
        ByteBuffer b = ByteBuffer.wrap(body);
        long n = Integer.toUnsignedLong(b.getInt());
        int reserved = b.getInt();
        if (n < 1 || n > MAX_PAGES) {
            throw malformed("count " + n + " is outside 1.." + MAX_PAGES);
        }
        if (reserved != 0) {
            throw malformed("reserved field is not zero");
        }
        int count = (int) n;
        if (8L + 8L * count > body.length) {
            throw malformed(count + " entries do not fit in a body of " + body.length + " octets");
        }
        long[] pfns = new long[count];
        int[] offsets = new int[count];
        int data = 8 + 8 * count;
        int next = data;
        for (int i = 0; i < count; i++) {
            long e = b.getLong();
            if ((e & RESERVED_BITS) != 0) {
                throw malformed(String.format("entry %d (0x%016x) has reserved bits set", i, e));
            }
            pfns[i] = e & MAX_PFN;
            if ((e & ZERO_BIT) != 0) {
                offsets[i] = -1;
            } else {
                offsets[i] = next;
                next += PAGE_SIZE;
                if (next > body.length) {
                    break; // reported below with the exact expected length
                }
            }
        }
        long expected = data + (long) PAGE_SIZE * countData(offsets);
        if (next > body.length || expected != body.length) {
            throw malformed("body is " + body.length + " octets but " + count + " entries need " + expected);
        }
        long[] sorted = pfns.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw malformed("pfn " + sorted[i] + " appears twice in one batch");
            }
        }
        return new PageBatch(body, pfns, offsets);
    }

    private static int countData(int[] offsets) {
        int k = 0;
        for (int o : offsets) {
            if (o >= 0) {
                k++;
            }
        }
        return k;
    }

    private static ProtocolException malformed(String what) {
        return new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: " + what);
    }

    /** Collects up to {@link #MAX_PAGES} pages and encodes them as one body. */
    public static final class Builder {
        private final long[] entries = new long[MAX_PAGES];
        private final byte[][] pages = new byte[MAX_PAGES][];
        private final int[] pageOffsets = new int[MAX_PAGES];
        private int count;
        private int dataPages;

        /** A normal page; its data is copied when {@link #build()} runs. */
        public Builder page(long pfn, byte[] page, int offset) {
            checkRoom(pfn);
            if (offset < 0 || offset > page.length - PAGE_SIZE) {
                throw new IndexOutOfBoundsException("a page is " + PAGE_SIZE + " octets from offset " + offset);
            }
            pages[count] = page;
            pageOffsets[count] = offset;
            entries[count++] = pfn;
            dataPages++;
            return this;
        }

        /** A zero marker for a normal page that is all zeros. Never for a protected page. */
        public Builder zero(long pfn) {
            checkRoom(pfn);
            entries[count++] = pfn | ZERO_BIT;
            return this;
        }

        private void checkRoom(long pfn) {
            if (pfn < 0 || pfn > MAX_PFN) {
                throw new IllegalArgumentException("pfn " + pfn + " is outside 0.." + MAX_PFN);
            }
            if (isFull()) {
                throw new IllegalStateException("a batch holds at most " + MAX_PAGES + " pages");
            }
        }

        public boolean isFull() {
            return count == MAX_PAGES;
        }

        public int count() {
            return count;
        }

        /** The PAGE_BATCH body. */
        public byte[] build() {
            if (count == 0) {
                throw new IllegalStateException("an empty batch is not sent");
            }
            ByteBuffer b = ByteBuffer.allocate(8 + 8 * count + PAGE_SIZE * dataPages);
            b.putInt(count).putInt(0);
            for (int i = 0; i < count; i++) {
                b.putLong(entries[i]);
            }
            for (int i = 0; i < count; i++) {
                if (pages[i] != null) {
                    b.put(pages[i], pageOffsets[i], PAGE_SIZE);
                }
            }
            return b.array();
        }

        /** Empties the builder for the next batch. */
        public void clear() {
            Arrays.fill(pages, 0, count, null);
            count = 0;
            dataPages = 0;
        }
    }
}
