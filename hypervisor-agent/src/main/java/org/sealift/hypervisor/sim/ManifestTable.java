package org.sealift.hypervisor.sim;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.SealedBlob;

/**
 * The source's MANIFEST plaintext (docs/protocol.md §6.1) kept up to date while pages are sealed: every protected page
 * and context has a fixed entry (the layout is the domain's), and each sealing writes its version and tag there. Sealing
 * the MANIFEST while the VM is paused then costs the pages changed since the last round, the digest (§6.2) and the
 * AEAD, instead of a pass over every sealed record. The process keys are added only to the copy that is sealed.
 *
 * <p>The destination keeps the same table of what it accepted ({@link ReceivedState}), so that checking the MANIFEST
 * is one comparison of two plaintexts ({@link #digestIfSame}).
 *
 * <p>Entries of distinct pages are disjoint: writers hold the page's lock; {@link #encode} runs when no sealing can
 * happen any more (the caller's exclusive lock).
 */
final class ManifestTable {

    private static final int HEADER = 48;
    private static final int BLOCK = 48;
    private static final int KEY_OFFSET = 16;
    private static final int ENTRY = 32;
    private static final byte[] LABEL = Manifest.DIGEST_LABEL.getBytes(StandardCharsets.US_ASCII);

    private final byte[] body;
    /** Per process (index in the domain): offset of its block. */
    private final int[] blockOffset;
    private final int[] pageCount;
    private final int[] processIds;

    ManifestTable(MigrationId migrationId, UUID vmId, List<ProtectedProcess> processes) {
        int n = processes.size();
        long pages = 0;
        long contexts = 0;
        for (ProtectedProcess p : processes) {
            pages += p.pageCount();
            contexts += p.vcpus();
        }
        if (n > Manifest.MAX_PROCESSES || pages > Manifest.MAX_TOTAL_PAGES || contexts > Manifest.MAX_TOTAL_CONTEXTS) {
            throw new IllegalArgumentException("a MANIFEST lists at most " + Manifest.MAX_PROCESSES + " processes, "
                    + Manifest.MAX_TOTAL_PAGES + " pages and " + Manifest.MAX_TOTAL_CONTEXTS + " contexts; this VM has "
                    + n + ", " + pages + " and " + contexts);
        }
        long length = HEADER + (long) n * BLOCK + (pages + contexts) * ENTRY + Manifest.DIGEST_LENGTH;
        this.body = new byte[(int) length];
        this.blockOffset = new int[n];
        this.pageCount = new int[n];
        this.processIds = new int[n];
        ByteBuffer b = ByteBuffer.wrap(body);
        b.put(migrationId.bytes()).putLong(vmId.getMostSignificantBits()).putLong(vmId.getLeastSignificantBits())
                .putInt(n).putInt((int) contexts).putLong(pages);
        // process blocks in ascending process id (§6.1), whatever order the domain keeps them in
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong(i -> Integer.toUnsignedLong(processes.get(i).processId)));
        for (int i : order) {
            ProtectedProcess p = processes.get(i);
            blockOffset[i] = b.position();
            pageCount[i] = p.pageCount();
            processIds[i] = p.processId;
            b.putInt(p.processId).putInt(p.vcpus()).putInt(p.pageCount()).putInt(0);
            b.position(b.position() + Manifest.KEY_LENGTH); // the key goes only into the sealed copy
            for (int k = 0; k < p.pageCount(); k++) {
                b.putLong(p.pfns[k]).putLong(0).position(b.position() + Manifest.TAG_LENGTH);
            }
            for (int v = 0; v < p.vcpus(); v++) {
                b.putInt(v).putInt(0).putLong(0).position(b.position() + Manifest.TAG_LENGTH);
            }
        }
    }

    /** Records an accepted SEALED page (destination): its version and tag. */
    void page(int processIndex, int index, SealedBlob blob) {
        int off = blockOffset[processIndex] + BLOCK + index * ENTRY;
        ByteBuffer.wrap(body).putLong(off + 8, blob.version());
        blob.copyTag(body, off + 16);
    }

    /** Records an accepted SEALED context (destination): its version and tag. */
    void context(int processIndex, int vcpu, SealedBlob blob) {
        int off = blockOffset[processIndex] + BLOCK + pageCount[processIndex] * ENTRY + vcpu * ENTRY;
        ByteBuffer.wrap(body).putLong(off + 8, blob.version());
        blob.copyTag(body, off + 16);
    }

    /** Records the sealing of page {@code index} of process {@code processIndex}: its version and tag. */
    void page(int processIndex, int index, long version, ByteBuffer tagSource, int tagOffset) {
        int off = blockOffset[processIndex] + BLOCK + index * ENTRY;
        ByteBuffer.wrap(body).putLong(off + 8, version);
        tagSource.get(tagOffset, body, off + 16, Manifest.TAG_LENGTH);
    }

    /** Records the sealing of the context of process {@code processIndex} on {@code vcpu}. */
    void context(int processIndex, int vcpu, long version, ByteBuffer tagSource, int tagOffset) {
        int off = blockOffset[processIndex] + BLOCK + pageCount[processIndex] * ENTRY + vcpu * ENTRY;
        ByteBuffer.wrap(body).putLong(off + 8, version);
        tagSource.get(tagOffset, body, off + 16, Manifest.TAG_LENGTH);
    }

    /** The first entry never sealed (version 0), or null when every page and context has a sealing. */
    String firstUnsealed() {
        ByteBuffer b = ByteBuffer.wrap(body);
        for (int i = 0; i < blockOffset.length; i++) {
            int off = blockOffset[i] + BLOCK;
            int entries = pageCount[i] + b.getInt(blockOffset[i] + 4);
            for (int k = 0; k < entries; k++, off += ENTRY) {
                if (b.getLong(off + 8) == 0) {
                    return (k < pageCount[i] ? "pfn " + b.getLong(off) : "vCPU context " + (k - pageCount[i]))
                            + " of process " + Integer.toUnsignedString(processIds[i]);
                }
            }
        }
        return null;
    }

    /** The manifest digest (§6.2): SHA-256 over the label and the plaintext without the key fields and the trailer. */
    byte[] digest() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
        md.update(LABEL);
        int[] covered = covered();
        for (int i = 0; i < covered.length; i += 2) {
            md.update(body, covered[i], covered[i + 1] - covered[i]);
        }
        return md.digest();
    }

    /** The ranges [from, to) the digest covers, in order: all of the plaintext but the key fields and the trailer. */
    private int[] covered() {
        int[] starts = blockOffset.clone();
        Arrays.sort(starts);
        int[] ranges = new int[2 * starts.length + 2];
        int from = 0;
        int k = 0;
        for (int s : starts) {
            ranges[k++] = from;
            ranges[k++] = s + KEY_OFFSET;
            from = s + KEY_OFFSET + Manifest.KEY_LENGTH;
        }
        ranges[k++] = from;
        ranges[k] = body.length - Manifest.DIGEST_LENGTH;
        return ranges;
    }

    /**
     * The destination's fast check of a MANIFEST plaintext against the table it filled from the records it accepted:
     * the digest if {@code plaintext} is exactly this table's MANIFEST (same length; every octet the digest covers
     * equal, so the same session, layout, versions and tags; every entry sealed; the trailer equal to the digest),
     * else null. The table's layout is the destination domain's, which is well formed (ascending process ids and pfns,
     * no pfn in two processes), so an equal plaintext passes every check of {@link Manifest#decode} too. The keys are
     * not compared: they are the source's to send.
     */
    byte[] digestIfSame(byte[] plaintext) {
        if (plaintext.length != body.length || firstUnsealed() != null) {
            return null;
        }
        int[] covered = covered();
        for (int i = 0; i < covered.length; i += 2) {
            if (!Arrays.equals(body, covered[i], covered[i + 1], plaintext, covered[i], covered[i + 1])) {
                return null;
            }
        }
        byte[] digest = digest();
        int trailer = body.length - Manifest.DIGEST_LENGTH;
        return Arrays.equals(digest, 0, digest.length, plaintext, trailer, body.length) ? digest : null;
    }

    /** Copies the key of process {@code processIndex} out of a MANIFEST plaintext laid out as this table. */
    void copyKey(byte[] plaintext, int processIndex, byte[] out) {
        System.arraycopy(plaintext, blockOffset[processIndex] + KEY_OFFSET, out, 0, Manifest.KEY_LENGTH);
    }

    /** The tag recorded for page {@code index} of process {@code processIndex}, copied into {@code out}. */
    void copyPageTag(int processIndex, int index, byte[] out) {
        System.arraycopy(body, blockOffset[processIndex] + BLOCK + index * ENTRY + 16, out, 0, Manifest.TAG_LENGTH);
    }

    /** The version recorded for the context of process {@code processIndex} on {@code vcpu} (0: none). */
    long contextVersion(int processIndex, int vcpu) {
        return ByteBuffer.wrap(body).getLong(blockOffset[processIndex] + BLOCK + (pageCount[processIndex] + vcpu) * ENTRY
                + 8);
    }

    /**
     * The complete plaintext with the keys and {@code digest} filled in, to be sealed as the MANIFEST record. The
     * caller overwrites it once sealed (it holds the keys).
     *
     * @param keys process id → its 32-octet key
     */
    byte[] encode(Map<Integer, byte[]> keys, byte[] digest) {
        byte[] out = body.clone();
        for (int i = 0; i < blockOffset.length; i++) {
            byte[] k = keys.get(processIds[i]);
            if (k == null || k.length != Manifest.KEY_LENGTH) {
                throw new IllegalArgumentException("no key for process " + Integer.toUnsignedString(processIds[i]));
            }
            System.arraycopy(k, 0, out, blockOffset[i] + KEY_OFFSET, Manifest.KEY_LENGTH);
        }
        System.arraycopy(digest, 0, out, out.length - Manifest.DIGEST_LENGTH, Manifest.DIGEST_LENGTH);
        return out;
    }
}
