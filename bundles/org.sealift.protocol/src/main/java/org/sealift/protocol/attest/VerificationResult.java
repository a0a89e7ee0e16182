package org.sealift.protocol.attest;

import java.util.List;
import java.util.Optional;

/**
 * What an offline verification found. {@link #failures()} says exactly what fails, one sentence each
 * ("entry 17: previous-hash mismatch (log edited or truncated before entry 17)"); {@link #notes()} are facts that
 * are not failures (a REJECTED record kept by one side only). Immutable.
 */
public final class VerificationResult {

    private final String subject;
    private final List<String> failures;
    private final List<String> notes;
    private final List<SignedRecord> records;
    private final LogCheckpoint checkpoint;

    VerificationResult(String subject, List<String> failures, List<String> notes, List<SignedRecord> records,
            LogCheckpoint checkpoint) {
        this.subject = subject;
        this.failures = List.copyOf(failures);
        this.notes = List.copyOf(notes);
        this.records = List.copyOf(records);
        this.checkpoint = failures.isEmpty() ? checkpoint : null;
    }

    public boolean ok() {
        return failures.isEmpty();
    }

    public List<String> failures() {
        return failures;
    }

    public List<String> notes() {
        return notes;
    }

    /** Records whose signatures verified (empty for a cross-check). */
    public List<SignedRecord> records() {
        return records;
    }

    /** After a successful log verification: what to remember for the next one. */
    public Optional<LogCheckpoint> checkpoint() {
        return Optional.ofNullable(checkpoint);
    }

    /** True if some failure contains {@code text} (for callers that react to one kind of failure). */
    public boolean mentions(String text) {
        return failures.stream().anyMatch(f -> f.contains(text));
    }

    public String toJson() {
        Json j = new Json().beginObject().field("subject", subject).name("ok").bool(ok());
        j.name("failures").beginArray();
        failures.forEach(j::string);
        j.endArray().name("notes").beginArray();
        notes.forEach(j::string);
        j.endArray().field("verifiedRecords", records.size());
        j.field("checkpoint", checkpoint == null ? null : checkpoint.toLine());
        return j.endObject().toString();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(subject).append(": ").append(ok() ? "OK" : "FAILED (" + failures.size()
                + ")");
        failures.forEach(f -> sb.append("\n  FAIL ").append(f));
        notes.forEach(n -> sb.append("\n  note ").append(n));
        return sb.toString();
    }
}
