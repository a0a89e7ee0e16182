package org.sealift.protocol.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Hex;

class LogVerifierTest {

    private final Cluster cluster;
    private final Cluster.Host h1;
    private final Cluster.Host h2;
    private final Cluster.Host h3;
    private final LogVerifier verifier;
    private final List<SignedRecord> migrations = new ArrayList<>();

    LogVerifierTest() throws ProtocolException {
        cluster = new Cluster();
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
        h3 = cluster.host("h3");
        migrations.add(cluster.migrate(h1, h2, Outcome.COMMITTED));
        migrations.add(cluster.migrate(h2, h1, Outcome.ABORTED_BY_DESTINATION));
        migrations.add(cluster.migrate(h1, h2, Outcome.COMMITTED));
        verifier = new LogVerifier(cluster.ca.trust(), cluster.policy(), cluster.certs(h1, h2, h3));
    }

    private VerificationResult verifyNow(Cluster.Host h) throws ProtocolException {
        Challenge c = verifier.challenge();
        return verifier.verify(h.file, h.head(c), c, null, Cluster.NOW);
    }

    private static void assertFails(VerificationResult r, String... expected) {
        assertFalse(r.ok(), r::toString);
        for (String e : expected) {
            assertTrue(r.mentions(e), () -> "expected a failure containing \"" + e + "\" in\n" + r);
        }
    }

    /** dom0 rewrites the log file; the hypervisor's sealed head does not change. */
    private void dom0Replaces(Cluster.Host h, List<LogEntry> entries) {
        h.file = AttestationLog.of(h.id, entries);
    }

    @Test
    void honestLogsVerifyAndCrossCheck() throws Exception {
        VerificationResult r1 = verifyNow(h1);
        assertTrue(r1.ok(), r1::toString);
        assertEquals(3, r1.records().size());
        assertEquals(3, r1.checkpoint().orElseThrow().size());
        assertTrue(verifyNow(h2).ok());
        VerificationResult x = verifier.crossCheck(h1.file, h2.file);
        assertTrue(x.ok(), x::toString);
    }

    @Test
    void tamperedRecordFailsItsSignaturesAndTheNextLink() throws Exception {
        // dom0 lowers the downtime in entry 1 and keeps the signatures
        List<LogEntry> entries = new ArrayList<>(h1.file.entries());
        SignedRecord orig = entries.get(1).record();
        AttestationRecord r = orig.record();
        AttestationRecord edited = AttestationRecord.fromCanonicalBytes(r.toCanonicalBytes());
        edited = rebuildWithStatistics(edited, new Statistics(4, 250_000, 1_200, 30_000, 1_030_000_000L, 5, 41_000));
        SignedRecord forged = SignedRecord.unsigned(edited)
                .withSignature(Side.SOURCE, orig.signature(Side.SOURCE).orElseThrow())
                .withSignature(Side.DESTINATION, orig.signature(Side.DESTINATION).orElseThrow());
        entries.set(1, new LogEntry(1, entries.get(1).previousHash(), forged.encoded()));
        dom0Replaces(h1, entries);
        String m = r.migrationLabel();
        assertFails(verifyNow(h1),
                "record " + m + ": source signature does not verify with AK of host h2",
                "record " + m + ": destination signature does not verify with AK of host h1",
                "entry 2: previous-hash mismatch (log edited or truncated before entry 2)");
    }

    private static AttestationRecord rebuildWithStatistics(AttestationRecord r, Statistics s) {
        AttestationRecord.Builder b = AttestationRecord.builder().migrationId(r.migrationId()).vmId(r.vmId())
                .source(r.source()).destination(r.destination()).policySerial(r.policySerial()).suite(r.suite())
                .started(r.started()).paused(r.paused().orElse(null)).resumed(r.resumed().orElse(null))
                .outcome(r.outcome(), r.reasonName(), r.detail()).statistics(s)
                .anomalies(new ArrayList<>(r.anomalies().values()))
                .transcriptHash(r.transcriptHash().orElse(null)).manifestDigest(r.manifestDigest().orElse(null));
        return b.build();
    }

    @Test
    void deletedEntryBreaksTheChainAndTheSignedHead() throws Exception {
        List<LogEntry> entries = new ArrayList<>(h1.file.entries());
        entries.remove(1);
        dom0Replaces(h1, entries);
        assertFails(verifyNow(h1),
                "entry at position 1 carries index 2: entries were deleted, inserted or reordered before it",
                "entry 2: previous-hash mismatch (log edited or truncated before entry 2)",
                "the log has 2 entries but the hypervisor's signed head covers 3: the log was truncated");
    }

    @Test
    void deletedEntryWithTheChainRebuiltIsCaughtByTheSignedHead() throws Exception {
        // hashes are not keyed: dom0 can re-index and re-link what is left; only the hypervisor's head knows better
        AttestationLog rebuilt = AttestationLog.create("h1");
        rebuilt.append(h1.file.entries().get(0).record());
        rebuilt.append(h1.file.entries().get(2).record());
        h1.file = rebuilt;
        VerificationResult r = verifyNow(h1);
        assertFails(r, "the log has 2 entries but the hypervisor's signed head covers 3: the log was truncated"
                + " (entry 2 missing)");
        assertEquals(1, r.failures().size(), r::toString);
    }

    @Test
    void reorderedEntriesAreDetected() throws Exception {
        List<LogEntry> entries = new ArrayList<>(h1.file.entries());
        LogEntry first = entries.get(0);
        entries.set(0, entries.get(1));
        entries.set(1, first);
        dom0Replaces(h1, entries);
        assertFails(verifyNow(h1),
                "entry at position 0 carries index 1",
                "entry at position 1 carries index 0",
                "entry 1: previous-hash mismatch (the log does not start at host h1's genesis");
    }

    @Test
    void truncatedLogWithAStaleSignedHeadFails() throws Exception {
        // verification 1 sees the log at 3 entries; dom0 keeps that signed head
        Challenge c1 = verifier.challenge();
        SignedHead stale = h1.head(c1);
        assertTrue(verifier.verify(h1.file, stale, c1, null, Cluster.NOW).ok());
        // two more migrations, then dom0 truncates the file back to 3 entries and replays the old head
        cluster.migrate(h1, h2, Outcome.COMMITTED);
        cluster.migrate(h1, h3, Outcome.COMMITTED);
        dom0Replaces(h1, h1.file.entries().subList(0, 3));
        Challenge c2 = verifier.challenge();
        VerificationResult r = verifier.verify(h1.file, stale, c2, null, Cluster.NOW);
        assertFails(r, "the signed head carries nonce " + Hex.abbrev(c1.nonce()) + ", but this verification asked for "
                + Hex.abbrev(c2.nonce()) + ": a stale or replayed head was presented");
        // asked for a fresh head, the hypervisor signs its sealed state, which does not match the truncated file
        Challenge c3 = verifier.challenge();
        assertFails(verifier.verify(h1.file, h1.head(c3), c3, null, Cluster.NOW),
                "the log has 3 entries but the hypervisor's signed head covers 5: the log was truncated (entries 3..4"
                        + " missing)");
    }

    @Test
    void rollbackToAnOlderFileWithAnOlderHeadFails() throws Exception {
        AttestationLog olderFile = AttestationLog.parse(h1.file.encoded());
        long olderSize = h1.sealedSize;
        byte[] olderHead = h1.sealedHead.clone();
        long olderCounter = h1.counter;
        cluster.migrate(h1, h2, Outcome.COMMITTED);
        cluster.migrate(h1, h2, Outcome.COMMITTED);
        Challenge c1 = verifier.challenge();
        VerificationResult seen = verifier.verify(h1.file, h1.head(c1), c1, null, Cluster.NOW);
        assertTrue(seen.ok(), seen::toString);
        LogCheckpoint checkpoint = LogCheckpoint.parseLine(seen.checkpoint().orElseThrow().toLine());
        // dom0 restores the older log file AND the hypervisor's older sealed state (with its counter)
        h1.file = olderFile;
        h1.sealedSize = olderSize;
        h1.sealedHead = olderHead;
        h1.counter = olderCounter;
        Challenge c2 = verifier.challenge();
        VerificationResult r = verifier.verify(h1.file, h1.head(c2), c2, checkpoint, Cluster.NOW);
        assertFails(r,
                "the signed head's counter 3 is below counter 5 from the previous verification: the hypervisor's"
                        + " state or the log was rolled back",
                "the log has 3 entries, fewer than the 5 seen at the previous verification");
        // without the checkpoint the rolled-back pair is self-consistent: that is why verifiers keep checkpoints
        Challenge c3 = verifier.challenge();
        assertTrue(verifier.verify(h1.file, h1.head(c3), c3, null, Cluster.NOW).ok());
    }

    @Test
    void historyRewrittenAtTheSameLengthIsCaughtByTheCheckpoint() throws Exception {
        Challenge c1 = verifier.challenge();
        LogCheckpoint cp = verifier.verify(h1.file, h1.head(c1), c1, null, Cluster.NOW).checkpoint().orElseThrow();
        // a rolled-back hypervisor state and a log whose last entry was replaced by another genuine record
        AttestationLog other = AttestationLog.create("h1");
        other.append(h1.file.entries().get(0).record());
        other.append(h1.file.entries().get(1).record());
        other.append(Cluster.signedByBoth(cluster.record(h3, h1, Outcome.COMMITTED).build(), h3, h1));
        h1.file = other;
        h1.sealedHead = other.headHash();
        h1.counter++;
        Challenge c2 = verifier.challenge();
        assertFails(verifier.verify(h1.file, h1.head(c2), c2, cp, Cluster.NOW),
                "the log no longer contains the head seen at the previous verification (entry 2): its history was"
                        + " rewritten");
    }

    @Test
    void headWithAReusedNonceFails() throws Exception {
        Challenge c = verifier.challenge();
        SignedHead head = h1.head(c);
        assertTrue(verifier.verify(h1.file, head, c, null, Cluster.NOW).ok());
        VerificationResult again = verifier.verify(h1.file, head, c, null, Cluster.NOW);
        assertFails(again, "challenge nonce " + Hex.abbrev(c.nonce()) + " was already used for an earlier"
                + " verification");
        // a nonce the verifier never issued (chosen by dom0) is no better
        LogVerifier other = new LogVerifier(cluster.ca.trust(), cluster.policy(), cluster.certs(h1));
        Challenge foreign = other.challenge();
        assertFails(verifier.verify(h1.file, h1.head(foreign), foreign, null, Cluster.NOW),
                "the challenge was not issued by this verifier");
    }

    @Test
    void headSignedByAnotherHostsAkFails() throws Exception {
        Challenge c = verifier.challenge();
        SignedHead byH2 = SignedHead.sign(h2.ak, "h1", h1.sealedSize, h1.sealedHead, h1.counter, c.nonce());
        assertFails(verifier.verify(h1.file, byH2, c, null, Cluster.NOW),
                "the signed head is signed by the AK of host h2, not of host h1");
    }

    @Test
    void destinationSignatureByTheWrongAkFails() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.COMMITTED).build();
        SignedRecord sr = SignedRecord.unsigned(r).sign(Side.SOURCE, h1.ak).sign(Side.DESTINATION, h3.ak);
        h1.append(sr);
        assertFails(verifyNow(h1),
                "record " + r.migrationLabel() + ": destination signature does not verify with AK of host h2");
    }

    @Test
    void committedRecordWithOnlyOneSignatureFails() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.COMMITTED).build();
        h1.append(SignedRecord.unsigned(r).sign(Side.SOURCE, h1.ak));
        assertFails(verifyNow(h1), "record " + r.migrationLabel() + ": outcome COMMITTED needs the destination's"
                + " signature (host h2), but the record carries none");
    }

    @Test
    void rejectedRecordWithOneSignatureVerifies() throws Exception {
        // h2 refused an unattested sender: only h2 signs, the sender is known by the id it claimed
        AttestationRecord r = cluster.record(h1, h2, Outcome.REJECTED).source(Party.unidentified("rogue-7")).build();
        h2.append(SignedRecord.unsigned(r).sign(Side.DESTINATION, h2.ak));
        VerificationResult v = verifyNow(h2);
        assertTrue(v.ok(), v::toString);
    }

    @Test
    void recordCopiedFromAnotherHostsLogFails() throws Exception {
        SignedRecord foreign = Cluster.signedByBoth(cluster.record(h2, h3, Outcome.COMMITTED).build(), h2, h3);
        h1.append(foreign);
        assertFails(verifyNow(h1), "is between hosts h2 and h3, not host h1's: it was copied from another log");
    }

    @Test
    void recordsSignedByAFencedAkFail() throws Exception {
        FenceBundle fence = cluster.ca.issueFence(migrations.get(2).record().migrationId(),
                migrations.get(2).record().manifestDigest().orElseThrow(), h2.party().akFingerprint(),
                cluster.policy());
        cluster.store.accept(fence.policy(), Cluster.NOW);
        LogVerifier after = new LogVerifier(cluster.ca.trust(), fence.policy(), cluster.certs(h1, h2));
        Challenge c = after.challenge();
        assertFails(after.verify(h1.file, h1.head(c), c, null, Cluster.NOW),
                "AK of host h2 is not acceptable: POLICY: host h2 is not attested: its AK "
                        + Hex.abbrev(h2.party().akFingerprint()) + " is revoked by policy 'prod-2026' serial 2");
    }

    @Test
    void crossCheckDetectsARecordThatDiffersBetweenTheTwoLogs() throws Exception {
        // both hypervisors signed, but h2's log holds a different record for the same migration
        AttestationRecord.Builder b = cluster.record(h1, h2, Outcome.COMMITTED);
        AttestationRecord mine = b.build();
        AttestationRecord theirs = b.statistics(new Statistics(4, 250_000, 1_200, 30_000, 2_000_000_000L, 180,
                41_000)).build();
        h1.append(Cluster.signedByBoth(mine, h1, h2));
        h2.append(Cluster.signedByBoth(theirs, h1, h2));
        VerificationResult x = verifier.crossCheck(h1.file, h2.file);
        assertFails(x, "migration " + mine.migrationLabel() + ": record differs between host h1 and host h2 logs:"
                + " statistics.bytes 1030000000 vs 2000000000");
        assertEquals(1, x.failures().size(), x::toString);
    }

    @Test
    void crossCheckDetectsARecordMissingFromOneLog() throws Exception {
        SignedRecord sr = Cluster.signedByBoth(cluster.record(h1, h2, Outcome.COMMITTED).build(), h1, h2);
        h1.append(sr);
        assertFails(verifier.crossCheck(h1.file, h2.file), "migration " + sr.record().migrationLabel()
                + ": host h1's log has a COMMITTED record, host h2's log has none");
    }

    @Test
    void crossCheckAllowsTheDocumentedRejectedDifferencesOnly() throws Exception {
        AttestationRecord.Builder b = cluster.record(h1, h2, Outcome.REJECTED);
        AttestationRecord atSource = b.build();
        AttestationRecord atDestination = b.outcome(Outcome.REJECTED, "UNATTESTED", "other words").build();
        h1.append(SignedRecord.unsigned(atSource).sign(Side.SOURCE, h1.ak));
        h2.append(SignedRecord.unsigned(atDestination).sign(Side.DESTINATION, h2.ak));
        VerificationResult x = verifier.crossCheck(h1.file, h2.file);
        assertTrue(x.ok(), x::toString);
        assertTrue(x.notes().get(0).contains("both hosts kept their own record of a migration that did not commit"),
                x::toString);
        // but not a different VM
        AttestationRecord.Builder b2 = cluster.record(h1, h2, Outcome.REJECTED);
        h1.append(SignedRecord.unsigned(b2.build()).sign(Side.SOURCE, h1.ak));
        h2.append(SignedRecord.unsigned(b2.vmId(java.util.UUID.randomUUID()).build()).sign(Side.DESTINATION, h2.ak));
        assertFails(verifier.crossCheck(h1.file, h2.file), "disagree on vmId");
    }

    @Test
    void anAbortSeenDifferentlyByEachSideVerifiesWithOneSignatureEach() throws Exception {
        // the link was attacked: the source gave up (deadline) while the destination had already aborted on a
        // tampered page; neither countersigns the other's view, each signs its own
        AttestationRecord.Builder b = cluster.record(h1, h2, Outcome.ABORTED_BY_SOURCE);
        AttestationRecord atSource = b.build();
        AttestationRecord atDestination = b.outcome(Outcome.ABORTED_BY_DESTINATION, "TAMPERED", "page 7").build();
        h1.append(SignedRecord.unsigned(atSource).sign(Side.SOURCE, h1.ak));
        h2.append(SignedRecord.unsigned(atDestination).sign(Side.DESTINATION, h2.ak));
        VerificationResult v1 = verifyNow(h1);
        VerificationResult v2 = verifyNow(h2);
        assertTrue(v1.ok(), v1::toString);
        assertTrue(v2.ok(), v2::toString);
        VerificationResult x = verifier.crossCheck(h1.file, h2.file);
        assertTrue(x.ok(), x::toString);
        assertTrue(x.notes().stream().anyMatch(n -> n.contains("ABORTED_BY_SOURCE") && n.contains("ABORTED_BY_DESTINATION")),
                x::toString);
    }

    @Test
    void oneSideCommittedWhileTheOtherRecordsAnAbortIsACrossCheckFailure() throws Exception {
        // a commit must be the same record in both logs: an abort on the other side contradicts it
        AttestationRecord.Builder b = cluster.record(h1, h2, Outcome.COMMITTED);
        AttestationRecord committed = b.build();
        AttestationRecord aborted = b.outcome(Outcome.ABORTED_BY_DESTINATION, "DEADLINE", "no RELEASE").build();
        h1.append(Cluster.signedByBoth(committed, h1, h2));
        h2.append(SignedRecord.unsigned(aborted).sign(Side.DESTINATION, h2.ak));
        assertFails(verifier.crossCheck(h1.file, h2.file), "migration " + committed.migrationLabel()
                + ": record differs between host h1 and host h2 logs");
    }

    @Test
    void duplicatedRecordIsDetected() throws Exception {
        // dom0 appends a second copy of a genuine record (e.g. to inflate a host's history)
        SignedRecord first = migrations.get(0);
        AttestationLog doubled = AttestationLog.create("h1");
        for (LogEntry e : h1.file.entries()) {
            doubled.append(e.record());
        }
        doubled.append(first);
        h1.file = doubled;
        h1.sealedSize = doubled.size();
        h1.sealedHead = doubled.headHash();
        assertFails(verifyNow(h1), "entry 3: record " + first.record().migrationLabel() + " duplicates entry 0");
    }

    @Test
    void recordClaimingANewerPolicyThanTheVerifiersFails() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.COMMITTED).policySerial(9).build();
        h1.append(Cluster.signedByBoth(r, h1, h2));
        assertFails(verifyNow(h1), "record " + r.migrationLabel() + ": made under policy serial 9, newer than the"
                + " verifier's policy 'prod-2026' serial 1; verify with the current policy");
    }
}
