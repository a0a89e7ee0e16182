package org.sealift.console.core.attest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.sealift.console.core.settings.TrustMaterial;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.LogVerifier;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.attest.VerificationResult;

/**
 * Offline verification through the protocol library's {@link LogVerifier}, so the console and the CLI judge records
 * with one implementation. The verifier checks logs against a head signed by the host's hypervisor; offline there
 * is no such head, so its "no signed head" failure (always its first, docs/protocol-attestation.md §8.3) becomes a
 * note and every other failure is kept. A single record is verified as a one-entry log of its source host, which
 * checks exactly the record: signatures, AK certificates chained to the cluster CA at the record's start time,
 * revocations, measurements and the policy serial.
 */
public final class RecordVerification {

    static final String NO_HEAD = "no signed head was presented";

    private RecordVerification() {
    }

    public static Verdict verifyRecord(SignedRecord record, TrustMaterial trust, Instant now) {
        AttestationRecord r = record.record();
        AttestationLog single = AttestationLog.create(r.source().hostId());
        single.append(record);
        LogVerifier verifier = new LogVerifier(trust.trust(), trust.policy(), trust.akCertificates());
        VerificationResult result = verifier.verify(single, null, verifier.challenge(), null, now);
        List<String> failures = withoutHeadFailure(result.failures());
        if (failures.isEmpty() && result.records().size() != 1) {
            // never call a record good that the verifier did not list as verified
            failures.add(r.migrationLabel() + ": the verifier did not confirm the record's signatures");
        }
        List<String> notes = new ArrayList<>(result.notes());
        return new Verdict(subject(record), failures.isEmpty(), failures, notes, now);
    }

    public static Verdict verifyLog(AttestationLog log, TrustMaterial trust, Instant now) {
        LogVerifier verifier = new LogVerifier(trust.trust(), trust.policy(), trust.akCertificates());
        VerificationResult result = verifier.verify(log, null, verifier.challenge(), null, now);
        List<String> failures = withoutHeadFailure(result.failures());
        List<String> notes = new ArrayList<>(result.notes());
        notes.add("the hypervisor's signed head of host " + log.hostId() + " was not checked: that needs a fresh"
                + " nonce signed by its hypervisor through its agent, so a log truncated at its end or rolled back is"
                + " not detected offline");
        return new Verdict("attestation log of host " + log.hostId() + " (" + log.size() + " entries)",
                failures.isEmpty(), failures, notes, now);
    }

    private static List<String> withoutHeadFailure(List<String> failures) {
        List<String> out = new ArrayList<>(failures);
        if (!out.isEmpty() && out.get(0).startsWith(NO_HEAD)) {
            out.remove(0);
        }
        return out;
    }

    static String subject(SignedRecord record) {
        AttestationRecord r = record.record();
        return "record " + r.migrationLabel() + " (VM " + r.vmId() + ": " + r.source().hostId() + " \u2192 "
                + r.destination().hostId() + ", " + r.outcome() + ")";
    }
}
