package org.sealift.protocol.control;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;

/**
 * The MANIFEST: what the destination must hold before it may say READY (docs/protocol.md §6). Per protected process:
 * its memory key, its (pfn, version, tag) page table and its (vCPU id, version, tag) sealed-context references;
 * counts; and the manifest digest that the commit tokens sign.
 *
 * <p>The plaintext holds the process keys in clear: it only ever leaves the hypervisor inside a MANIFEST control
 * record, AES-GCM under the source's control key. {@link #destroyKeys()} overwrites them once they are no longer needed.
 */
public final class Manifest {

    public static final int MAX_PROCESSES = 1024;
    public static final int MAX_TOTAL_PAGES = 1 << 20;
    public static final int MAX_TOTAL_CONTEXTS = 4096;
    public static final int MAX_CONTEXTS_PER_PROCESS = 256;
    public static final int KEY_LENGTH = 32;
    public static final int TAG_LENGTH = 16;
    public static final int DIGEST_LENGTH = 32;
    static final int HEADER_LENGTH = 48;
    static final int PROCESS_HEADER_LENGTH = 48;
    static final int ENTRY_LENGTH = 32;
    /** 33 734 736 octets: the largest plaintext a receiver decodes. */
    public static final int MAX_ENCODED_LENGTH = HEADER_LENGTH + MAX_PROCESSES * PROCESS_HEADER_LENGTH
            + (MAX_TOTAL_PAGES + MAX_TOTAL_CONTEXTS) * ENTRY_LENGTH + DIGEST_LENGTH;
    /** Largest pfn (pages are addressed with 52 bits on the wire). */
    public static final long MAX_PFN = (1L << 52) - 1;
    /** Domain separation of the manifest digest. */
    public static final String DIGEST_LABEL = "SMP1/manifest-digest";

    private final MigrationId migrationId;
    private final UUID vmId;
    private final List<ProcessEntry> processes;
    private final long totalPages;
    private final int totalContexts;
    private final byte[] digest;

    private Manifest(MigrationId migrationId, UUID vmId, List<ProcessEntry> processes, byte[] digest) {
        this.migrationId = migrationId;
        this.vmId = vmId;
        this.processes = Collections.unmodifiableList(processes);
        long pages = 0;
        int contexts = 0;
        for (ProcessEntry p : processes) {
            pages += p.pageCount();
            contexts += p.contextCount();
        }
        this.totalPages = pages;
        this.totalContexts = contexts;
        this.digest = digest;
    }

    public MigrationId migrationId() {
        return migrationId;
    }

    public UUID vmId() {
        return vmId;
    }

    /** Processes in ascending process id. */
    public List<ProcessEntry> processes() {
        return processes;
    }

    /** The process with this id, or null. */
    public ProcessEntry process(int processId) {
        for (ProcessEntry p : processes) {
            if (p.processId == processId) {
                return p;
            }
        }
        return null;
    }

    public long totalPages() {
        return totalPages;
    }

    public int totalContexts() {
        return totalContexts;
    }

    /** The manifest digest of §6.2 (32 octets): signed into READY, RELEASE, DONE and ABORT. */
    public byte[] digest() {
        return digest.clone();
    }

    public String digestHex() {
        return HexFormat.of().formatHex(digest);
    }

    /** Refuses a manifest made for another migration or VM (the AEAD already binds the migration id; this binds the VM). */
    public void checkSession(MigrationId expectedMigration, UUID expectedVm) throws ProtocolException {
        if (!migrationId.equals(expectedMigration)) {
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, "the MANIFEST is for migration " + migrationId
                    + ", this session is migration " + expectedMigration);
        }
        if (!vmId.equals(expectedVm)) {
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, "the MANIFEST describes VM " + vmId
                    + ", this migration moves VM " + expectedVm);
        }
    }

    /** Overwrites every process key held by this manifest. */
    public void destroyKeys() {
        for (ProcessEntry p : processes) {
            Arrays.fill(p.key, (byte) 0);
        }
    }

    /** The plaintext of §6.1, to be sealed as a MANIFEST control record. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(encodedLength(processes.size(), totalPages, totalContexts));
        writeBody(b, true);
        b.put(digest);
        return b.array();
    }

    private static int encodedLength(int processes, long pages, long contexts) {
        return (int) (HEADER_LENGTH + (long) processes * PROCESS_HEADER_LENGTH + (pages + contexts) * ENTRY_LENGTH
                + DIGEST_LENGTH);
    }

    private void writeBody(ByteBuffer b, boolean withKeys) {
        b.put(migrationId.bytes()).put(uuidBytes(vmId)).putInt(processes.size()).putInt(totalContexts)
                .putLong(totalPages);
        for (ProcessEntry p : processes) {
            b.putInt(p.processId).putInt(p.contextCount()).putInt(p.pageCount()).putInt(0);
            if (withKeys) {
                b.put(p.key);
            }
            for (int i = 0; i < p.pageCount(); i++) {
                b.putLong(p.pfns[i]).putLong(p.pageVersions[i]).put(p.pageTags, i * TAG_LENGTH, TAG_LENGTH);
            }
            for (int i = 0; i < p.contextCount(); i++) {
                b.putInt(p.vcpuIds[i]).putInt(0).putLong(p.contextVersions[i])
                        .put(p.contextTags, i * TAG_LENGTH, TAG_LENGTH);
            }
        }
    }

    /**
     * Parses and checks a MANIFEST plaintext (the opened control record). Counts are checked against the limits and
     * the length before any table is allocated; the digest is recomputed and compared.
     */
    public static Manifest decode(byte[] plaintext) throws ProtocolException {
        Objects.requireNonNull(plaintext, "plaintext");
        int length = plaintext.length;
        if (length < HEADER_LENGTH + DIGEST_LENGTH || length > MAX_ENCODED_LENGTH) {
            throw malformed("its length " + length + " is outside [" + (HEADER_LENGTH + DIGEST_LENGTH) + ", "
                    + MAX_ENCODED_LENGTH + "]");
        }
        ByteBuffer b = ByteBuffer.wrap(plaintext);
        byte[] mid = new byte[MigrationId.LENGTH];
        b.get(mid);
        UUID vm = new UUID(b.getLong(), b.getLong());
        long processCount = Integer.toUnsignedLong(b.getInt());
        long contextTotal = Integer.toUnsignedLong(b.getInt());
        long pageTotal = b.getLong();
        if (processCount > MAX_PROCESSES) {
            throw malformed(processCount + " processes, at most " + MAX_PROCESSES + " allowed");
        }
        if (pageTotal < 0 || pageTotal > MAX_TOTAL_PAGES) {
            throw malformed(Long.toUnsignedString(pageTotal) + " pages, at most " + MAX_TOTAL_PAGES + " allowed");
        }
        if (contextTotal > MAX_TOTAL_CONTEXTS) {
            throw malformed(contextTotal + " vCPU contexts, at most " + MAX_TOTAL_CONTEXTS + " allowed");
        }
        long expectedLength = encodedLength((int) processCount, pageTotal, contextTotal);
        if (expectedLength != length) {
            throw malformed("it is " + length + " octets but its counts (" + processCount + " processes, "
                    + pageTotal + " pages, " + contextTotal + " contexts) need " + expectedLength);
        }
        List<ProcessEntry> processes = new ArrayList<>((int) processCount);
        long[] allPfns = new long[(int) pageTotal];
        long pagesSeen = 0;
        long contextsSeen = 0;
        long previousPid = -1;
        for (int p = 0; p < processCount; p++) {
            int pid = b.getInt();
            long c = Integer.toUnsignedLong(b.getInt());
            long n = Integer.toUnsignedLong(b.getInt());
            if (b.getInt() != 0) {
                throw malformed("process " + Integer.toUnsignedString(pid) + " has a non-zero reserved field");
            }
            if (Integer.toUnsignedLong(pid) <= previousPid) {
                throw malformed("process ids are not strictly ascending at process " + Integer.toUnsignedString(pid));
            }
            previousPid = Integer.toUnsignedLong(pid);
            if (c > MAX_CONTEXTS_PER_PROCESS) {
                throw malformed("process " + Integer.toUnsignedString(pid) + " has " + c + " vCPU contexts, at most "
                        + MAX_CONTEXTS_PER_PROCESS + " allowed");
            }
            pagesSeen += n;
            contextsSeen += c;
            if (pagesSeen > pageTotal || contextsSeen > contextTotal) {
                throw malformed("the per-process counts exceed the header's totals at process "
                        + Integer.toUnsignedString(pid));
            }
            byte[] key = new byte[KEY_LENGTH];
            b.get(key);
            long[] pfns = new long[(int) n];
            long[] versions = new long[(int) n];
            byte[] tags = new byte[(int) n * TAG_LENGTH];
            for (int i = 0; i < n; i++) {
                long pfn = b.getLong();
                long version = b.getLong();
                b.get(tags, i * TAG_LENGTH, TAG_LENGTH);
                if (pfn < 0 || pfn > MAX_PFN) {
                    throw malformed("pfn " + Long.toUnsignedString(pfn) + " is beyond " + MAX_PFN);
                }
                if (i > 0 && pfn <= pfns[i - 1]) {
                    throw malformed("pfns of process " + Integer.toUnsignedString(pid)
                            + " are not strictly ascending at pfn " + pfn);
                }
                if (version == 0) {
                    throw malformed("pfn " + pfn + " has version 0; versions start at 1");
                }
                allPfns[(int) (pagesSeen - n + i)] = pfn;
                pfns[i] = pfn;
                versions[i] = version;
            }
            int[] vcpus = new int[(int) c];
            long[] cversions = new long[(int) c];
            byte[] ctags = new byte[(int) c * TAG_LENGTH];
            for (int i = 0; i < c; i++) {
                int vcpu = b.getInt();
                if (b.getInt() != 0) {
                    throw malformed("a vCPU context entry of process " + Integer.toUnsignedString(pid)
                            + " has a non-zero reserved field");
                }
                long version = b.getLong();
                b.get(ctags, i * TAG_LENGTH, TAG_LENGTH);
                if (i > 0 && Integer.compareUnsigned(vcpu, vcpus[i - 1]) <= 0) {
                    throw malformed("vCPU ids of process " + Integer.toUnsignedString(pid)
                            + " are not strictly ascending");
                }
                if (version == 0) {
                    throw malformed("vCPU context " + Integer.toUnsignedString(vcpu) + " of process "
                            + Integer.toUnsignedString(pid) + " has version 0; versions start at 1");
                }
                vcpus[i] = vcpu;
                cversions[i] = version;
            }
            processes.add(new ProcessEntry(pid, key, pfns, versions, tags, vcpus, cversions, ctags));
        }
        if (pagesSeen != pageTotal || contextsSeen != contextTotal) {
            throw malformed("the per-process counts do not add up to the header's totals");
        }
        long shared = firstDuplicate(allPfns);
        if (shared >= 0) {
            throw malformed("pfn " + shared + " belongs to two processes");
        }
        byte[] claimed = new byte[DIGEST_LENGTH];
        b.get(claimed);
        Manifest m = new Manifest(MigrationId.of(mid), vm, processes, null);
        byte[] actual = computeDigest(m);
        if (!MessageDigest.isEqual(actual, claimed)) {
            m.destroyKeys();
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, "the MANIFEST's digest "
                    + HexFormat.of().formatHex(claimed) + " does not match its contents ("
                    + HexFormat.of().formatHex(actual) + "); the source built an inconsistent manifest");
        }
        return new Manifest(m.migrationId, m.vmId, processes, actual);
    }

    /** SHA-256("SMP1/manifest-digest" ‖ manifest plaintext without the process keys and without the digest). */
    private static byte[] computeDigest(Manifest m) {
        int len = encodedLength(m.processes.size(), m.totalPages, m.totalContexts)
                - DIGEST_LENGTH - m.processes.size() * KEY_LENGTH;
        ByteBuffer b = ByteBuffer.allocate(len);
        m.writeBody(b, false);
        MessageDigest sha = sha256();
        sha.update(DIGEST_LABEL.getBytes(StandardCharsets.US_ASCII));
        sha.update(b.array());
        return sha.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The smallest value that occurs twice (sorts {@code values}), or -1. Values are pfns, hence non-negative. */
    private static long firstDuplicate(long[] values) {
        Arrays.sort(values);
        for (int i = 1; i < values.length; i++) {
            if (values[i] == values[i - 1]) {
                return values[i];
            }
        }
        return -1;
    }

    static byte[] uuidBytes(UUID id) {
        return ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits())
                .array();
    }

    private static ProtocolException malformed(String what) {
        return new ProtocolException(Reason.MALFORMED, "MANIFEST: " + what);
    }

    @Override
    public String toString() {
        return "Manifest[migration " + migrationId + ", VM " + vmId + ", " + processes.size() + " processes, "
                + totalPages + " pages, " + totalContexts + " contexts, digest " + digestHex() + "]";
    }

    public static Builder builder(MigrationId migrationId, UUID vmId) {
        return new Builder(migrationId, vmId);
    }

    /** One protected process: key, page table (ascending pfn) and vCPU context references (ascending vCPU id). */
    public static final class ProcessEntry {
        private final int processId;
        private final byte[] key;
        private final long[] pfns;
        private final long[] pageVersions;
        private final byte[] pageTags;
        private final int[] vcpuIds;
        private final long[] contextVersions;
        private final byte[] contextTags;

        ProcessEntry(int processId, byte[] key, long[] pfns, long[] pageVersions, byte[] pageTags, int[] vcpuIds,
                long[] contextVersions, byte[] contextTags) {
            this.processId = processId;
            this.key = key;
            this.pfns = pfns;
            this.pageVersions = pageVersions;
            this.pageTags = pageTags;
            this.vcpuIds = vcpuIds;
            this.contextVersions = contextVersions;
            this.contextTags = contextTags;
        }

        public int processId() {
            return processId;
        }

        /** A copy of the process's memory key (hypervisor only). */
        public byte[] key() {
            return key.clone();
        }

        public int pageCount() {
            return pfns.length;
        }

        public long pfn(int index) {
            return pfns[index];
        }

        public long pageVersion(int index) {
            return pageVersions[index];
        }

        public byte[] pageTag(int index) {
            return Arrays.copyOfRange(pageTags, index * TAG_LENGTH, (index + 1) * TAG_LENGTH);
        }

        /** True if page {@code index}'s tag equals {@code tag} (constant time). */
        public boolean pageTagEquals(int index, byte[] tag) {
            return MessageDigest.isEqual(pageTag(index), tag);
        }

        /** Index of {@code pfn} in the page table, or -1. */
        public int pageIndex(long pfn) {
            int i = Arrays.binarySearch(pfns, pfn);
            return i >= 0 ? i : -1;
        }

        public int contextCount() {
            return vcpuIds.length;
        }

        public int vcpuId(int index) {
            return vcpuIds[index];
        }

        public long contextVersion(int index) {
            return contextVersions[index];
        }

        public byte[] contextTag(int index) {
            return Arrays.copyOfRange(contextTags, index * TAG_LENGTH, (index + 1) * TAG_LENGTH);
        }

        /** Index of the context of {@code vcpuId}, or -1. */
        public int contextIndex(int vcpuId) {
            for (int i = 0; i < vcpuIds.length; i++) {
                if (vcpuIds[i] == vcpuId) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public String toString() {
            // never the key
            return "ProcessEntry[" + Integer.toUnsignedString(processId) + ", " + pfns.length + " pages, "
                    + vcpuIds.length + " contexts]";
        }
    }

    /** Builds a manifest in the source hypervisor; entries may be added in any order. */
    public static final class Builder {
        private final MigrationId migrationId;
        private final UUID vmId;
        private final TreeMap<Long, ProcessBuilder> processes = new TreeMap<>();

        Builder(MigrationId migrationId, UUID vmId) {
            this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
            this.vmId = Objects.requireNonNull(vmId, "vmId");
        }

        /** Adds (or returns the already added) process {@code processId} with its memory key. */
        public ProcessBuilder process(int processId, byte[] key) {
            Objects.requireNonNull(key, "key");
            if (key.length != KEY_LENGTH) {
                throw new IllegalArgumentException("a process key is " + KEY_LENGTH + " octets, got " + key.length);
            }
            ProcessBuilder pb = processes.computeIfAbsent(Integer.toUnsignedLong(processId),
                    k -> new ProcessBuilder(processId, key.clone()));
            if (!Arrays.equals(pb.key, key)) {
                throw new IllegalArgumentException("process " + Integer.toUnsignedString(processId)
                        + " was already added with another key");
            }
            return pb;
        }

        public Manifest build() {
            if (processes.size() > MAX_PROCESSES) {
                throw new IllegalStateException(processes.size() + " processes, at most " + MAX_PROCESSES);
            }
            List<ProcessEntry> list = new ArrayList<>();
            long pages = 0;
            long contexts = 0;
            for (ProcessBuilder pb : processes.values()) {
                ProcessEntry p = pb.build();
                pages += p.pageCount();
                contexts += p.contextCount();
                list.add(p);
            }
            if (pages > MAX_TOTAL_PAGES || contexts > MAX_TOTAL_CONTEXTS) {
                throw new IllegalStateException("manifest too large: " + pages + " pages (max " + MAX_TOTAL_PAGES
                        + "), " + contexts + " contexts (max " + MAX_TOTAL_CONTEXTS + ")");
            }
            long[] allPfns = new long[(int) pages];
            int k = 0;
            for (ProcessEntry p : list) {
                for (long pfn : p.pfns) {
                    allPfns[k++] = pfn;
                }
            }
            long shared = firstDuplicate(allPfns);
            if (shared >= 0) {
                throw new IllegalStateException("pfn " + shared + " is in two processes");
            }
            Manifest m = new Manifest(migrationId, vmId, list, null);
            return new Manifest(migrationId, vmId, list, computeDigest(m));
        }
    }

    /** Collects one process's page and context entries. */
    public static final class ProcessBuilder {
        private final int processId;
        private final byte[] key;
        private final TreeMap<Long, Object[]> pages = new TreeMap<>();
        private final TreeMap<Long, Object[]> contexts = new TreeMap<>();

        ProcessBuilder(int processId, byte[] key) {
            this.processId = processId;
            this.key = key;
        }

        /** The final version of protected page {@code pfn} and the tag of its SEALED record. */
        public ProcessBuilder page(long pfn, long version, byte[] tag) {
            if (pfn < 0 || pfn > MAX_PFN) {
                throw new IllegalArgumentException("pfn " + pfn + " is outside 0.." + MAX_PFN);
            }
            checkEntry(version, tag);
            if (pages.put(pfn, new Object[] {version, tag.clone()}) != null) {
                throw new IllegalArgumentException("pfn " + pfn + " added twice");
            }
            return this;
        }

        /** The final version of this process's sealed context on vCPU {@code vcpuId} and its tag. */
        public ProcessBuilder context(int vcpuId, long version, byte[] tag) {
            checkEntry(version, tag);
            if (contexts.size() >= MAX_CONTEXTS_PER_PROCESS) {
                throw new IllegalStateException("at most " + MAX_CONTEXTS_PER_PROCESS + " contexts per process");
            }
            if (contexts.put(Integer.toUnsignedLong(vcpuId), new Object[] {version, tag.clone()}) != null) {
                throw new IllegalArgumentException("vCPU " + Integer.toUnsignedString(vcpuId) + " added twice");
            }
            return this;
        }

        private static void checkEntry(long version, byte[] tag) {
            if (version == 0) {
                throw new IllegalArgumentException("versions start at 1");
            }
            if (tag.length != TAG_LENGTH) {
                throw new IllegalArgumentException("a tag is " + TAG_LENGTH + " octets, got " + tag.length);
            }
        }

        ProcessEntry build() {
            int n = pages.size();
            long[] pfns = new long[n];
            long[] versions = new long[n];
            byte[] tags = new byte[n * TAG_LENGTH];
            int i = 0;
            for (var e : pages.entrySet()) {
                pfns[i] = e.getKey();
                versions[i] = (Long) e.getValue()[0];
                System.arraycopy((byte[]) e.getValue()[1], 0, tags, i * TAG_LENGTH, TAG_LENGTH);
                i++;
            }
            int c = contexts.size();
            int[] vcpus = new int[c];
            long[] cversions = new long[c];
            byte[] ctags = new byte[c * TAG_LENGTH];
            i = 0;
            for (var e : contexts.entrySet()) {
                vcpus[i] = (int) (long) e.getKey();
                cversions[i] = (Long) e.getValue()[0];
                System.arraycopy((byte[]) e.getValue()[1], 0, ctags, i * TAG_LENGTH, TAG_LENGTH);
                i++;
            }
            return new ProcessEntry(processId, key.clone(), pfns, versions, tags, vcpus, cversions, ctags);
        }
    }
}
