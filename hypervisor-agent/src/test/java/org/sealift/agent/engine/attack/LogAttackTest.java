package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.Challenge;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.LogVerifier;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Certificates;

/**
 * Threat → test matrix, "stale signed log head with a truncated log", against a real simulated hypervisor: dom0
 * keeps the source host's attestation log of real migrations (each record signed by both hypervisors), the
 * hypervisor tracks the log's head in its sealed state and signs it for a verifier's nonce. dom0 cuts the last
 * record off the file and shows an auditor the head it had signed while the log was that long: the nonce gives it
 * away; with a head freshly signed for the auditor's nonce the missing entry shows.
 */
class LogAttackTest extends AttackSuite {

    /** dom0's log file of h1, and the hypervisor told of each entry first (as the agent daemon does it). */
    final AttestationLog log = AttestationLog.create("h1");

    /** Migrates a VM h1 → h2 and logs its doubly signed record at h1. */
    SignedRecord migrateAndLog() throws Exception {
        SimRun m = secure(quietVm()).run();
        assertCommittedIntact(m);
        SignedAttestation own = m.source.attestation().orElseThrow();
        SignedAttestation peer = h2.countersignAttestation(m.migrationId, own.fields());
        SignedRecord signed = SignedRecord.unsigned(AttestationRecord.fromCanonicalBytes(own.fields()))
                .withSignature(Side.SOURCE, own.signature()).withSignature(Side.DESTINATION, peer.signature());
        LogEntry next = new LogEntry(log.size(), log.headHash(), signed.encoded());
        LogHead head = h1.appendLogEntry(next.index(), next.previousHash(), next.recordBytes());
        log.append(signed);
        assertEquals(log.size(), head.index(), "the hypervisor saw every entry");
        cleanup(m);
        return signed;
    }

    static SignedHead signedHead(Challenge c) throws Exception {
        LogHead h = h1.signLogHead(c.nonce());
        byte[] both = new byte[h.signed().length + h.signature().length];
        System.arraycopy(h.signed(), 0, both, 0, h.signed().length);
        System.arraycopy(h.signature(), 0, both, h.signed().length, h.signature().length);
        return SignedHead.parse(both);
    }

    /** An auditor holding the cluster's trust, a policy admitting the hosts, and both AK certificates. */
    static LogVerifier auditor() throws Exception {
        List<java.security.cert.X509Certificate> aks = new ArrayList<>();
        for (var h : List.of(h1, h2)) {
            aks.add(Certificates.parse(h.identity().attestationChain().get(0)));
        }
        return new LogVerifier(cluster.ca().trust(), trustedBuildPolicy(), aks);
    }

    @Test
    void staleSignedHeadWithATruncatedLog() throws Exception {
        LogVerifier auditor = auditor();
        migrateAndLog();
        // an honest verification while the log holds one record: dom0 keeps the head the hypervisor signed
        Challenge first = auditor.challenge();
        SignedHead staleHead = signedHead(first);
        var ok = auditor.verify(log, staleHead, first, null, java.time.Instant.now());
        assertTrue(ok.ok(), ok.toString());

        SignedRecord second = migrateAndLog();
        assertEquals(2, log.size());
        // dom0 cuts the second record off (say, to hide that migration) and replays the old head
        AttestationLog truncated = AttestationLog.of("h1", log.entries().subList(0, 1));
        Challenge audit = auditor.challenge();
        var stale = auditor.verify(truncated, staleHead, audit, null, java.time.Instant.now());
        assertFalse(stale.ok(), stale.toString());
        assertTrue(stale.mentions("a stale or replayed head was presented"), stale.toString());

        // asked with the auditor's nonce, the hypervisor signs the head it really has: two entries, not one
        Challenge fresh = auditor.challenge();
        var cut = auditor.verify(truncated, signedHead(fresh), fresh, null, java.time.Instant.now());
        assertFalse(cut.ok(), cut.toString());
        assertTrue(cut.mentions("the log was truncated"), cut.toString());

        // the untouched log verifies, and it holds the hidden migration's record: COMMITTED, signed by both
        Challenge again = auditor.challenge();
        var whole = auditor.verify(log, signedHead(again), again, null, java.time.Instant.now());
        assertTrue(whole.ok(), whole.toString());
        assertEquals(2, whole.records().size());
        AttestationRecord hidden = whole.records().get(1).record();
        assertEquals(second.record(), hidden);
        assertEquals(Outcome.COMMITTED, hidden.outcome());
        assertTrue(whole.records().get(1).hasSignature(Side.DESTINATION));
    }
}
