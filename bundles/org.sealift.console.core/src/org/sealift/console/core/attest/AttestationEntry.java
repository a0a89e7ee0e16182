package org.sealift.console.core.attest;

import java.time.Instant;
import java.util.Objects;

import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Hex;

/**
 * A signed attestation record the console holds, and where it came from.
 *
 * @param signed   the record with its signatures (unverified until {@link AttestationReviewService#verify})
 * @param origin   the file or agent it was read from
 * @param logHost  the host whose attestation log held it, or null for a record file
 * @param logIndex its index in that log, or -1
 */
public record AttestationEntry(SignedRecord signed, String origin, String logHost, long logIndex) {

    public AttestationEntry {
        Objects.requireNonNull(signed, "signed");
        Objects.requireNonNull(origin, "origin");
    }

    public AttestationRecord record() {
        return signed.record();
    }

    /** Stable key: the record's hash (the same record from two places is one entry). */
    public String key() {
        return Hex.encode(signed.record().hash());
    }

    public String migrationId() {
        return Hex.encode(record().migrationId());
    }

    public String vmId() {
        return record().vmId().toString();
    }

    public String sourceHost() {
        return record().source().hostId();
    }

    public String destinationHost() {
        return record().destination().hostId();
    }

    public Outcome outcome() {
        return record().outcome();
    }

    public Instant started() {
        return record().started();
    }

    /** "m=3fa9c2d1…" as the verifier's messages name records. */
    public String label() {
        return record().migrationLabel();
    }
}
