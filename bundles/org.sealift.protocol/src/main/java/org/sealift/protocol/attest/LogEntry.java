package org.sealift.protocol.attest;

import java.util.Arrays;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.CanonicalWriter;

/**
 * One entry of a host's attestation log: its index, the hash of the previous entry, and a signed record's bytes.
 * Entry hash = SHA-256("SMP1/LOG-ENTRY" ‖ u64 index ‖ [32] previous hash ‖ u32 length ‖ record bytes). The entry
 * itself is not trusted: {@link LogVerifier} checks index, link and record.
 */
public final class LogEntry {

    static final byte[] CONTEXT = CanonicalWriter.ascii("SMP1/LOG-ENTRY");

    private final long index;
    private final byte[] previousHash;
    private final byte[] recordBytes;
    private final byte[] hash;

    public LogEntry(long index, byte[] previousHash, byte[] recordBytes) {
        if (previousHash.length != 32) {
            throw new IllegalArgumentException("previous hash must be 32 bytes, got " + previousHash.length);
        }
        this.index = index;
        this.previousHash = previousHash.clone();
        this.recordBytes = recordBytes.clone();
        this.hash = AttestationRecord.sha256(new CanonicalWriter().raw(CONTEXT).u64(index).fixed(previousHash, 32)
                .blob(recordBytes).toByteArray());
    }

    public long index() {
        return index;
    }

    public byte[] previousHash() {
        return previousHash.clone();
    }

    public byte[] recordBytes() {
        return recordBytes.clone();
    }

    int recordLength() {
        return recordBytes.length;
    }

    /** This entry's hash: what the next entry's previous hash and the signed head refer to. */
    public byte[] hash() {
        return hash.clone();
    }

    boolean hashEquals(byte[] other) {
        return Arrays.equals(hash, other);
    }

    /** Parses the record (format only; MALFORMED if it is not a signed record). */
    public SignedRecord record() throws ProtocolException {
        return SignedRecord.parse(recordBytes);
    }
}
