package org.sealift.console.core.attest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.sealift.protocol.attest.SignedRecord;

/**
 * The security officer's side: holds attestation records (from record and log files now, from the agents once the
 * agent client exists), filters them, verifies them offline with the protocol library's verifier and the trust
 * material from the settings, and exports them as JSON or as a printable HTML report.
 */
public interface AttestationReviewService {

    /** Every record held, oldest first. */
    List<AttestationEntry> entries();

    List<AttestationEntry> filter(AttestationFilter filter);

    /** Called (on the importing thread) after records were added. */
    void addListener(Consumer<List<AttestationEntry>> listener);

    void removeListener(Consumer<List<AttestationEntry>> listener);

    /**
     * Reads a record file (PEM "SEALIFT ATTESTATION RECORD", one or more) or an attestation log file. Never throws
     * for a bad file: the problems say what is wrong.
     */
    ImportResult importFile(Path file);

    /** Adds records received from elsewhere (the agent client). */
    ImportResult add(List<SignedRecord> records, String origin);

    /** Adds entries read from an agent's attestation log (the agent client keeps each entry's host and index). */
    ImportResult addEntries(List<AttestationEntry> entries);

    /**
     * Verifies a record's signatures, the signers' AK certificate chain to the cluster CA, the measurements and the
     * policy. A missing trust setting is a failed verdict naming the setting to fix.
     */
    Verdict verify(AttestationEntry entry);

    /**
     * Verifies the hash chain and every record of a log file. The hypervisor's signed head cannot be checked
     * offline (it needs a fresh nonce signed by the host's hypervisor, through its agent): that is a note, not a
     * pass.
     */
    Verdict verifyLog(Path logFile);

    /** Writes the entries (and any verdicts given) as a JSON array. */
    void exportJson(List<AttestationEntry> entries, Map<String, Verdict> verdicts, Path file) throws IOException;

    /** Writes a self-contained, printable HTML report of the entries and verdicts. */
    void exportHtml(List<AttestationEntry> entries, Map<String, Verdict> verdicts, Path file) throws IOException;
}
