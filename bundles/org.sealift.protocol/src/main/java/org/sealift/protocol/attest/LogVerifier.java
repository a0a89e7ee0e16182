package org.sealift.protocol.attest;

import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.SignedPolicy;

/**
 * Offline verifier for attestation logs, for anyone holding the cluster trust file, a policy and the hosts' AK
 * certificates. {@link #verify} checks one host's log: the chain links, every record's signatures against AK
 * certificates validated with the cluster PKI, the policy, and the hypervisor's signed head (fresh nonce, size and
 * hash equal to the log's end, counter not below the previous verification's). {@link #crossCheck} compares two
 * hosts' logs migration by migration. Nothing stops at the first problem: the result lists every failure, each
 * naming the entry or record and what is wrong.
 */
public final class LogVerifier {

    private final Policy policy;
    private final AkValidator validator;
    private final Map<String, X509Certificate> akByFingerprint = new HashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final Set<String> issued = new HashSet<>();
    private final Set<String> used = new HashSet<>();

    /**
     * @param policy          an already verified policy (e.g. {@code PolicyStore.current}); its revocations and
     *                        measurements judge every signature
     * @param akCertificates  AK certificates of the hosts whose signatures appear (any number of generations)
     */
    public LogVerifier(ClusterTrust trust, Policy policy, Collection<X509Certificate> akCertificates) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.validator = new AkValidator(Objects.requireNonNull(trust, "trust"));
        for (X509Certificate c : akCertificates) {
            akByFingerprint.put(Hex.encode(Certificates.fingerprint(c)), c);
        }
    }

    /** Verifies the policy's signature first (TAMPERED if it was not signed by the cluster's policy key). */
    public LogVerifier(ClusterTrust trust, SignedPolicy policy, Collection<X509Certificate> akCertificates)
            throws ProtocolException {
        this(trust, policy.verify(trust), akCertificates);
    }

    /** A fresh 32-byte nonce for one verification; hand it to the hypervisor, which signs its head with it. */
    public synchronized Challenge challenge() {
        byte[] nonce = new byte[SignedHead.NONCE_BYTES];
        random.nextBytes(nonce);
        Challenge c = new Challenge(nonce, this);
        issued.add(c.hex());
        return c;
    }

    /**
     * Verifies host {@code log.hostId()}'s log against the head its hypervisor signed for {@code challenge}.
     *
     * @param previous the checkpoint of the last successful verification of this host, or null for the first
     * @param now      time at which the head's AK certificate and the policy must be valid
     */
    public VerificationResult verify(AttestationLog log, SignedHead head, Challenge challenge,
            LogCheckpoint previous, Instant now) {
        String host = log.hostId();
        List<String> failures = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<SignedRecord> verified = new ArrayList<>();
        List<LogEntry> entries = log.entries();

        checkChallenge(challenge, failures);
        checkHeadSignature(host, head, challenge, failures, notes, now);

        Map<String, Long> firstEntryOfMigration = new HashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            LogEntry e = entries.get(i);
            String entry = "entry " + Long.toUnsignedString(e.index());
            if (e.index() != i && (i == 0 || e.index() != entries.get(i - 1).index() + 1)) {
                failures.add("entry at position " + i + " carries index " + Long.toUnsignedString(e.index())
                        + ": entries were deleted, inserted or reordered before it");
            }
            byte[] expectedPrevious = i == 0 ? AttestationLog.genesis(host) : entries.get(i - 1).hash();
            if (!Arrays.equals(e.previousHash(), expectedPrevious)) {
                failures.add(i == 0
                        ? entry + ": previous-hash mismatch (the log does not start at host " + host
                                + "'s genesis: entries were removed from its start, or it belongs to another host)"
                        : entry + ": previous-hash mismatch (log edited or truncated before " + entry + ")");
            }
            SignedRecord sr;
            try {
                sr = e.record();
            } catch (ProtocolException ex) {
                failures.add(entry + ": record is malformed: " + ex.getMessage());
                continue;
            }
            AttestationRecord r = sr.record();
            Long earlier = firstEntryOfMigration.putIfAbsent(Hex.encode(r.migrationId()), e.index());
            if (earlier != null) {
                failures.add(entry + ": record " + r.migrationLabel() + " duplicates entry "
                        + Long.toUnsignedString(earlier) + " (one record per migration and host)");
            }
            if (checkRecord(sr, host, entry, failures, notes)) {
                verified.add(sr);
            }
        }

        if (head != null) {
            checkHeadAgainstLog(log, head, failures);
            if (previous != null) {
                checkAgainstPrevious(log, head, previous, failures);
            }
        }
        LogCheckpoint next = head == null ? null
                : new LogCheckpoint(host, head.size(), Hex.encode(head.headHash()), head.counter());
        return new VerificationResult("attestation log of host " + host + " (" + entries.size() + " entries)",
                failures, notes, verified, next);
    }

    private synchronized void checkChallenge(Challenge challenge, List<String> failures) {
        if (challenge == null || challenge.issuer() != this || !issued.contains(challenge.hex())) {
            failures.add("the challenge was not issued by this verifier: ask it for a fresh challenge()");
        } else if (!used.add(challenge.hex())) {
            failures.add("challenge nonce " + Hex.abbrev(challenge.nonce()) + " was already used for an earlier"
                    + " verification: a nonce is good for one verification; ask for a fresh challenge");
        }
    }

    private void checkHeadSignature(String host, SignedHead head, Challenge challenge, List<String> failures,
            List<String> notes, Instant now) {
        if (head == null) {
            failures.add("no signed head was presented: ask the hypervisor of host " + host
                    + " to sign its log head with this verification's nonce");
            return;
        }
        if (!head.hostId().equals(host)) {
            failures.add("the signed head is for host " + head.hostId() + ", but the log is host " + host + "'s");
        }
        if (challenge != null && !Arrays.equals(head.nonce(), challenge.nonce())) {
            failures.add("the signed head carries nonce " + Hex.abbrev(head.nonce()) + ", but this verification"
                    + " asked for " + Hex.abbrev(challenge.nonce()) + ": a stale or replayed head was presented");
        }
        X509Certificate cert = akByFingerprint.get(Hex.encode(head.akFingerprint()));
        if (cert == null) {
            failures.add("the signed head is signed by AK " + Hex.abbrev(head.akFingerprint())
                    + ", for which the verifier was given no certificate; add host " + host + "'s AK certificate");
            return;
        }
        String certHost = Certificates.subjectCn(cert);
        if (!certHost.equals(host)) {
            failures.add("the signed head is signed by the AK of host " + certHost + ", not of host " + host);
            return;
        }
        try {
            policy.checkValidAt(now);
            if (validator.validateRecordSigner(List.of(cert), policy, now).dom0Held()) {
                notes.add("the signed head of host " + host + " is " + Dom0Signer.TRUST_LEVEL + "; dom0 holds that key,"
                        + " so the head cannot show a truncation or rollback of the log by dom0 itself");
            }
        } catch (ProtocolException e) {
            failures.add("the signed head's AK certificate is not acceptable: " + e.getMessage());
        }
        if (!head.verifies(cert.getPublicKey())) {
            failures.add("the signed head does not verify with the AK of host " + host);
        }
    }

    private void checkHeadAgainstLog(AttestationLog log, SignedHead head, List<String> failures) {
        long size = log.size();
        int cmp = Long.compareUnsigned(head.size(), size);
        if (cmp > 0) {
            failures.add("the log has " + size + " entries but the hypervisor's signed head covers "
                    + Long.toUnsignedString(head.size()) + ": the log was truncated (" + missing(size, head.size())
                    + " missing)");
        } else if (cmp < 0) {
            failures.add("the log has " + size + " entries but the hypervisor's signed head covers only "
                    + Long.toUnsignedString(head.size()) + ": " + missing(head.size(), size)
                    + " were not appended by the hypervisor");
        } else {
            byte[] actual = log.hashAfter((int) size);
            if (!Arrays.equals(actual, head.headHash())) {
                failures.add("the signed head's hash " + Hex.abbrev(head.headHash()) + " does not match "
                        + (size == 0 ? "the empty log's genesis" : "entry " + (size - 1)) + " (hash "
                        + Hex.abbrev(actual) + "): the log was edited or rolled back");
            }
        }
    }

    private static String missing(long from, long to) {
        return to - from == 1 ? "entry " + from : "entries " + from + ".." + (to - 1);
    }

    private void checkAgainstPrevious(AttestationLog log, SignedHead head, LogCheckpoint previous,
            List<String> failures) {
        if (!previous.hostId().equals(log.hostId())) {
            failures.add("the previous checkpoint is for host " + previous.hostId() + ", not host " + log.hostId());
            return;
        }
        if (Long.compareUnsigned(head.counter(), previous.counter()) < 0) {
            failures.add("the signed head's counter " + Long.toUnsignedString(head.counter()) + " is below counter "
                    + Long.toUnsignedString(previous.counter()) + " from the previous verification: the hypervisor's"
                    + " state or the log was rolled back");
        }
        if (Long.compareUnsigned(log.size(), previous.size()) < 0) {
            failures.add("the log has " + log.size() + " entries, fewer than the " + previous.size()
                    + " seen at the previous verification: the log was rolled back or truncated");
        } else if (!Arrays.equals(log.hashAfter((int) previous.size()), previous.headHash())) {
            failures.add("the log no longer contains the head seen at the previous verification ("
                    + (previous.size() == 0 ? "genesis" : "entry " + (previous.size() - 1))
                    + "): its history was rewritten");
        }
    }

    /** Checks one record of host {@code host}'s log; true if every signature it needs verifies. */
    private boolean checkRecord(SignedRecord sr, String host, String entry, List<String> failures,
            List<String> notes) {
        AttestationRecord r = sr.record();
        String label = "record " + r.migrationLabel();
        int before = failures.size();
        List<String> dom0Signed = new ArrayList<>();
        boolean plain = AttestationRecord.PLAIN_SUITE.equals(r.suite());
        if (!r.source().hostId().equals(host) && !r.destination().hostId().equals(host)) {
            failures.add(entry + ": " + label + " is between hosts " + r.source().hostId() + " and "
                    + r.destination().hostId() + ", not host " + host + "'s: it was copied from another log");
        }
        for (Side side : Side.values()) {
            Party p = r.party(side);
            String who = side.label();
            if (!sr.hasSignature(side)) {
                if (r.outcome() == Outcome.COMMITTED) {
                    failures.add(label + ": outcome " + r.outcome() + " needs the " + who + "'s signature (host "
                            + p.hostId() + "), but the record carries none");
                }
                continue;
            }
            if (!p.isIdentified()) {
                failures.add(label + ": carries a " + who + " signature but names no " + who + " AK");
                continue;
            }
            X509Certificate cert = akByFingerprint.get(Hex.encode(p.akFingerprint()));
            if (cert == null) {
                failures.add(label + ": no AK certificate with fingerprint " + Hex.abbrev(p.akFingerprint())
                        + " (host " + p.hostId() + ") was given to the verifier; add host " + p.hostId()
                        + "'s AK certificate");
                continue;
            }
            String certHost = Certificates.subjectCn(cert);
            if (!certHost.equals(p.hostId())) {
                failures.add(label + ": AK " + Hex.abbrev(p.akFingerprint()) + " belongs to host " + certHost
                        + ", but the record names host " + p.hostId() + " as " + who);
                continue;
            }
            try {
                if (validator.validateRecordSigner(List.of(cert), policy, r.started()).dom0Held()) {
                    dom0Signed.add(who + " (host " + p.hostId() + ")");
                    if (!plain) {
                        failures.add(label + ": the " + who + " signature is from host " + p.hostId() + "'s"
                                + " dom0-held key, but the record claims a secure migration (suite " + r.suite()
                                + "): only hypervisor attestation keys sign those; a dom0-held key cannot stand in"
                                + " for one");
                    }
                } else if (plain) {
                    failures.add(label + ": claims a plain migration, but its " + who + " signature is from the"
                            + " hypervisor AK of host " + p.hostId() + ", and hypervisors take no part in plain"
                            + " migrations: the record was made up or altered");
                }
            } catch (ProtocolException e) {
                failures.add(label + ": " + who + " AK of host " + p.hostId() + " is not acceptable: "
                        + e.getMessage());
            }
            byte[] certMeasurement = Certificates.measurement(cert).orElse(new byte[32]);
            if (!Arrays.equals(certMeasurement, p.measurement())) {
                failures.add(label + ": " + who + " measurement " + Hex.abbrev(p.measurement())
                        + " differs from " + Hex.abbrev(certMeasurement) + " in host " + p.hostId()
                        + "'s AK certificate");
            }
            if (!sr.verifies(side, cert.getPublicKey())) {
                failures.add(label + ": " + who + " signature does not verify with AK of host " + p.hostId());
            }
        }
        if (Long.compareUnsigned(r.policySerial(), policy.serial()) > 0) {
            failures.add(label + ": made under policy serial " + Long.toUnsignedString(r.policySerial())
                    + ", newer than the verifier's " + policy.describe() + "; verify with the current policy");
        }
        boolean ok = failures.size() == before;
        if (ok && !dom0Signed.isEmpty()) {
            notes.add(label + ": " + Dom0Signer.TRUST_LEVEL + " (" + String.join(", ", dom0Signed) + ")");
        }
        return ok;
    }

    /**
     * Cross-checks two hosts' logs: every migration between them must appear in both logs with the same signed
     * record. The documented exception is a migration that did not commit (ABORTED_BY_*, REJECTED): a side may
     * keep a record the other side never saw or would not countersign (each side saw the abort from its end), and
     * if both kept one they may differ in everything except migration id, VM id and the two host ids. A COMMITTED
     * record must be the same, with both signatures, in both logs. Malformed entries are skipped here ({@link #verify} reports them).
     */
    public VerificationResult crossCheck(AttestationLog a, AttestationLog b) {
        List<String> failures = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        String ha = a.hostId();
        String hb = b.hostId();
        Map<String, SignedRecord> ra = between(a, hb);
        Map<String, SignedRecord> rb = between(b, ha);
        for (Map.Entry<String, SignedRecord> e : ra.entrySet()) {
            SignedRecord other = rb.get(e.getKey());
            if (other == null) {
                onlyOnOneSide(e.getValue(), ha, hb, failures, notes);
            } else {
                compare(e.getValue(), other, ha, hb, failures, notes);
            }
        }
        for (Map.Entry<String, SignedRecord> e : rb.entrySet()) {
            if (!ra.containsKey(e.getKey())) {
                onlyOnOneSide(e.getValue(), hb, ha, failures, notes);
            }
        }
        return new VerificationResult("cross-check of the logs of hosts " + ha + " and " + hb + " ("
                + ra.size() + " and " + rb.size() + " shared migrations)", failures, notes, List.of(), null);
    }

    private static Map<String, SignedRecord> between(AttestationLog log, String peer) {
        Map<String, SignedRecord> out = new LinkedHashMap<>();
        String host = log.hostId();
        for (LogEntry e : log.entries()) {
            try {
                SignedRecord sr = e.record();
                AttestationRecord r = sr.record();
                boolean pair = r.source().hostId().equals(host) && r.destination().hostId().equals(peer)
                        || r.source().hostId().equals(peer) && r.destination().hostId().equals(host);
                if (pair) {
                    out.putIfAbsent(Hex.encode(r.migrationId()), sr);
                }
            } catch (ProtocolException ex) {
                // reported by verify()
            }
        }
        return out;
    }

    private static void onlyOnOneSide(SignedRecord sr, String has, String lacks, List<String> failures,
            List<String> notes) {
        AttestationRecord r = sr.record();
        String m = "migration " + r.migrationLabel();
        if (r.outcome() != Outcome.COMMITTED) {
            notes.add(m + ": " + r.outcome() + " record only in host " + has + "'s log (allowed: a migration that"
                    + " did not commit need not reach the other side)");
        } else {
            failures.add(m + ": host " + has + "'s log has a " + r.outcome() + " record, host " + lacks
                    + "'s log has none (removed from host " + lacks + "'s log, or never appended)");
        }
    }

    private static void compare(SignedRecord x, SignedRecord y, String hx, String hy, List<String> failures,
            List<String> notes) {
        AttestationRecord rx = x.record();
        AttestationRecord ry = y.record();
        String m = "migration " + rx.migrationLabel();
        if (rx.outcome() != Outcome.COMMITTED && ry.outcome() != Outcome.COMMITTED) {
            Map<String, String> fx = rx.fields();
            Map<String, String> fy = ry.fields();
            List<String> diffs = new ArrayList<>();
            for (String k : List.of("vmId", "source.hostId", "destination.hostId")) {
                if (!fx.get(k).equals(fy.get(k))) {
                    diffs.add(k + " " + fx.get(k) + " vs " + fy.get(k));
                }
            }
            if (!diffs.isEmpty()) {
                failures.add(m + ": the records of host " + hx + " and host " + hy + " disagree on "
                        + String.join("; ", diffs));
            } else if (!x.equals(y)) {
                notes.add(m + ": both hosts kept their own record of a migration that did not commit (" + hx + ": "
                        + rx.outcome() + ", " + hy + ": " + ry.outcome() + "; allowed to differ in outcome, reason,"
                        + " details and signatures)");
            }
            return;
        }
        if (x.equals(y)) {
            return;
        }
        if (rx.equals(ry)) {
            failures.add(m + ": the record is the same in the logs of host " + hx + " and host " + hy
                    + " but the signatures differ (" + hx + ": " + signers(x) + "; " + hy + ": " + signers(y) + ")");
            return;
        }
        Map<String, String> fx = rx.fields();
        Map<String, String> fy = ry.fields();
        List<String> diffs = new ArrayList<>();
        for (String k : fx.keySet()) {
            if (!fx.get(k).equals(fy.get(k))) {
                diffs.add(k + " " + show(fx.get(k)) + " vs " + show(fy.get(k)));
            }
        }
        failures.add(m + ": record differs between host " + hx + " and host " + hy + " logs: "
                + String.join("; ", diffs));
    }

    private static String signers(SignedRecord s) {
        List<String> out = new ArrayList<>();
        for (Side side : Side.values()) {
            if (s.hasSignature(side)) {
                out.add(side.label());
            }
        }
        return out.isEmpty() ? "none" : String.join("+", out);
    }

    private static String show(String v) {
        return v.isEmpty() ? "(none)" : v;
    }
}
