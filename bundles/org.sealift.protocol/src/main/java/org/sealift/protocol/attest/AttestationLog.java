package org.sealift.protocol.attest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.CanonicalWriter;
import org.sealift.protocol.pki.Certificates;

/**
 * A host's hash-chained attestation log (design G6). The file lives in dom0 and is not trusted: the hypervisor keeps
 * the head (size, head hash) and a monotonic counter in its sealed state and signs them with a verifier's nonce
 * ({@link SignedHead}), so {@link LogVerifier} detects a log that was edited, truncated, reordered or rolled back.
 *
 * <p>File format (docs/protocol-attestation.md, "Log file"): header {@code "SMP1/LOG" ‖ u16 format ‖ u16 length ‖
 * host id}, then entries {@code u64 index ‖ [32] previous hash ‖ u32 length ‖ signed record}, up to end of file.
 * Genesis hash (the previous hash of entry 0) = SHA-256("SMP1/LOG-GENESIS" ‖ u16 length ‖ host id).
 *
 * <p>{@link #parse(byte[])} and {@link #read(InputStream)} are the entry points for untrusted files: they check the
 * framing (never trusting a length: limits are checked before allocation) but not the chain, which is the
 * verifier's job so that it can say which entry is wrong. Thread-safe.
 */
public final class AttestationLog {

    static final byte[] MAGIC = CanonicalWriter.ascii("SMP1/LOG");
    static final byte[] GENESIS_CONTEXT = CanonicalWriter.ascii("SMP1/LOG-GENESIS");
    public static final int FORMAT = 1;
    public static final int MAX_ENTRIES = 1 << 22;
    public static final long MAX_FILE_BYTES = 1L << 30;
    static final int MAX_HOST_ID = 64;

    private final String hostId;
    private final List<LogEntry> entries;

    private AttestationLog(String hostId, List<LogEntry> entries) {
        this.hostId = hostId;
        this.entries = entries;
    }

    /** An empty log for host {@code hostId}. */
    public static AttestationLog create(String hostId) {
        return new AttestationLog(Certificates.requireHostId(hostId), new ArrayList<>());
    }

    /** A log holding exactly these entries, unchecked (tools and tests build edited logs this way). */
    public static AttestationLog of(String hostId, List<LogEntry> entries) {
        return new AttestationLog(Certificates.requireHostId(hostId), new ArrayList<>(entries));
    }

    public String hostId() {
        return hostId;
    }

    public synchronized List<LogEntry> entries() {
        return Collections.unmodifiableList(new ArrayList<>(entries));
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Appends a record linked to the current last entry; returns the new entry. */
    public synchronized LogEntry append(SignedRecord record) {
        if (entries.size() >= MAX_ENTRIES) {
            throw new IllegalStateException("attestation log of host " + hostId + " is full (" + MAX_ENTRIES
                    + " entries); archive it and start a new one");
        }
        LogEntry e = new LogEntry(entries.size(), headHash(), record.encoded());
        entries.add(e);
        return e;
    }

    /** Hash of the last entry, or the genesis hash for an empty log. */
    public synchronized byte[] headHash() {
        return hashAfter(entries.size());
    }

    /** The head hash the log had when it held its first {@code size} entries. */
    public synchronized byte[] hashAfter(int size) {
        return size == 0 ? genesis(hostId) : entries.get(size - 1).hash();
    }

    public static byte[] genesis(String hostId) {
        return AttestationRecord.sha256(new CanonicalWriter().raw(GENESIS_CONTEXT).str(hostId).toByteArray());
    }

    public synchronized byte[] encoded() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public synchronized void writeTo(OutputStream out) throws IOException {
        out.write(new CanonicalWriter().raw(MAGIC).u16(FORMAT).str(hostId).toByteArray());
        for (LogEntry e : entries) {
            out.write(new CanonicalWriter().u64(e.index()).fixed(e.previousHash(), 32).blob(e.recordBytes())
                    .toByteArray());
        }
    }

    /** Writes the log atomically (temporary file, then rename), so a crash leaves the old or the new file. */
    public void save(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writeTo(out);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static AttestationLog load(Path file) throws IOException, ProtocolException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        }
    }

    /** Parses a log file's bytes. Fuzz entry point: only {@link ProtocolException} escapes, for any input. */
    public static AttestationLog parse(byte[] bytes) throws ProtocolException {
        try {
            return read(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "attestation log: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a log from a stream, entry by entry. MALFORMED for bad framing or a length over its limit (checked before
     * allocating), TRUNCATED if the stream ends inside the header or an entry, EXHAUSTED past {@link #MAX_ENTRIES} or
     * {@link #MAX_FILE_BYTES}. IOException only for I/O errors of the stream itself.
     */
    public static AttestationLog read(InputStream in) throws IOException, ProtocolException {
        Reader r = new Reader(in);
        byte[] magic = r.bytes(MAGIC.length, "log header", true);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new ProtocolException(Reason.MALFORMED, "not a Sealift attestation log (magic is not \"SMP1/LOG\")");
        }
        int format = (int) r.number(2, "log header", true);
        if (format != FORMAT) {
            throw new ProtocolException(Reason.MALFORMED, "attestation log format " + format
                    + " is not supported (this build reads format " + FORMAT + ")");
        }
        int hostLen = (int) r.number(2, "log header", true);
        if (hostLen == 0 || hostLen > MAX_HOST_ID) {
            throw new ProtocolException(Reason.MALFORMED, "attestation log host id length " + hostLen
                    + " is outside 1.." + MAX_HOST_ID);
        }
        String hostId = new String(r.bytes(hostLen, "log header", true), StandardCharsets.UTF_8);
        if (!Certificates.isValidHostId(hostId)) {
            throw new ProtocolException(Reason.MALFORMED, "attestation log names an invalid host id");
        }
        List<LogEntry> entries = new ArrayList<>();
        while (true) {
            int first = in.read();
            if (first < 0) {
                break;
            }
            r.count(1);
            String where = "entry at position " + entries.size();
            if (entries.size() >= MAX_ENTRIES) {
                throw new ProtocolException(Reason.EXHAUSTED, "attestation log has more than " + MAX_ENTRIES
                        + " entries");
            }
            long index = ((long) first << 56) | r.number(7, where, false);
            byte[] prev = r.bytes(32, where, false);
            long len = r.number(4, where, false);
            if (len > SignedRecord.MAX_ENCODED_BYTES) {
                throw new ProtocolException(Reason.MALFORMED, where + " claims a " + len + "-byte record, limit "
                        + SignedRecord.MAX_ENCODED_BYTES);
            }
            entries.add(new LogEntry(index, prev, r.bytes((int) len, where, false)));
        }
        return new AttestationLog(hostId, entries);
    }

    /** Counts bytes and turns early end of stream into TRUNCATED. */
    private static final class Reader {
        private final InputStream in;
        private long consumed;

        Reader(InputStream in) {
            this.in = in;
        }

        void count(long n) throws ProtocolException {
            consumed += n;
            if (consumed > MAX_FILE_BYTES) {
                throw new ProtocolException(Reason.EXHAUSTED, "attestation log is larger than " + MAX_FILE_BYTES
                        + " bytes");
            }
        }

        byte[] bytes(int n, String where, boolean header) throws IOException, ProtocolException {
            count(n);
            byte[] b = in.readNBytes(n);
            if (b.length != n) {
                throw new ProtocolException(Reason.TRUNCATED, "attestation log ends inside the " + where
                        + (header ? "" : " (a write was cut short, or the file was truncated)"));
            }
            return b;
        }

        long number(int n, String where, boolean header) throws IOException, ProtocolException {
            byte[] b = bytes(n, where, header);
            long v = 0;
            for (byte x : b) {
                v = (v << 8) | (x & 0xff);
            }
            return v;
        }
    }
}
