package org.sealift.hypervisor.sim;

import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AnomalyKind;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.Party;
import org.sealift.protocol.attest.Statistics;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.Certificates;

/**
 * Attestation records signed by the hypervisor. The proposer builds the record from its sealed migration record
 * (ids, both parties as authenticated in the handshake, policy serial, suite, its own timestamps, outcome and reason,
 * its anomaly counts, transcript hash, manifest digest) plus the agent's statistics, which it marks as
 * agent-reported; the peer hypervisor countersigns only after checking every field it computed itself.
 */
final class Attestations {

    /** The engine's encoding of its statistics (org.sealift.agent.engine.AgentStatistics). */
    static final String AGENT_STATISTICS_LABEL = "SMP1/agent-statistics";

    private final SimHypervisor hv;

    Attestations(SimHypervisor hv) {
        this.hv = hv;
    }

    SignedAttestation propose(MigrationId id, byte[] agentStatistics) throws HypervisorException {
        synchronized (hv) {
            MigrationRecord r = hv.record(id);
            AttestationRecord rec = build(r, statistics(agentStatistics));
            return sign(r, rec);
        }
    }

    SignedAttestation countersign(MigrationId id, byte[] proposed) throws HypervisorException {
        synchronized (hv) {
            MigrationRecord r = hv.record(id);
            AttestationRecord theirs;
            try {
                theirs = AttestationRecord.fromCanonicalBytes(proposed);
            } catch (ProtocolException e) {
                throw HypervisorException.protocol(e);
            }
            AttestationRecord mine = build(r, theirs.statistics());
            String diff = firstDifference(mine, theirs);
            if (diff != null) {
                throw new HypervisorException(Reason.REFUSED, ProtocolException.Reason.TAMPERED, "host " + hv.hostId
                        + " will not countersign the record of migration " + id + ": its " + diff
                        + " differs from what this hypervisor recorded", null);
            }
            return sign(r, theirs);
        }
    }

    private SignedAttestation sign(MigrationRecord r, AttestationRecord rec) throws HypervisorException {
        Side side = r.role == MigrationRole.SOURCE ? Side.SOURCE : Side.DESTINATION;
        try {
            byte[] sig = hv.attestationKey().sign(rec.signedMessage(side));
            return new SignedAttestation(r.role, rec.toCanonicalBytes(), sig);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    private AttestationRecord build(MigrationRecord r, Statistics stats) throws HypervisorException {
        if (r.plain) {
            throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " was a plain migration: the hypervisors "
                    + "took no part in it and attest nothing");
        }
        if (!r.state.isFinal()) {
            throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " is " + r.state
                    + ": its attestation record is signed once it has ended");
        }
        if (r.state == MigrationState.FENCED) {
            throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " was decided by an operator's fence: the "
                    + "fence bundle is its record");
        }
        Party self = new Party(hv.hostId, Certificates.fingerprint(hv.attestationKey().publicKey()), hv.measurement);
        Party peer;
        boolean identified = r.peerAkCertificate != null && r.transcriptHash != null;
        if (identified) {
            try {
                X509Certificate c = Certificates.parse(r.peerAkCertificate);
                peer = new Party(Certificates.subjectCn(c), Certificates.fingerprint(c),
                        Certificates.measurement(c).orElse(new byte[32]));
            } catch (ProtocolException e) {
                throw HypervisorException.protocol(e);
            }
        } else {
            peer = Party.unidentified(Certificates.isValidHostId(r.peerHostId) ? r.peerHostId
                    : Certificates.isValidHostId(r.requestedPeer) ? r.requestedPeer : "unknown");
        }
        Outcome outcome;
        if (!identified) {
            outcome = Outcome.REJECTED;
        } else {
            outcome = switch (r.state) {
                case COMMITTED -> Outcome.COMMITTED;
                case ABORTED_BY_DESTINATION -> Outcome.ABORTED_BY_DESTINATION;
                default -> Outcome.ABORTED_BY_SOURCE;
            };
        }
        String reason = "";
        String detail = "statistics reported by the agent";
        if (outcome != Outcome.COMMITTED) {
            String[] parts = r.outcomeReason.split(": ", 2);
            reason = parts[0].matches("[A-Z][A-Z0-9_]{0,39}") ? parts[0] : "ABORTED";
            detail = truncate((parts.length > 1 ? parts[1] : r.outcomeReason) + "; " + detail, 1000);
        }
        AttestationRecord.Builder b = AttestationRecord.builder().migrationId(r.id.bytes())
                .vmId(java.util.UUID.nameUUIDFromBytes(("sealift-vm:" + r.vmName).getBytes(StandardCharsets.UTF_8)))
                .source(r.role == MigrationRole.SOURCE ? self : peer)
                .destination(r.role == MigrationRole.SOURCE ? peer : self).policySerial(r.policySerial)
                .suite(r.suite.isEmpty() ? "none" : r.suite).started(Instant.ofEpochMilli(r.startMillis))
                .paused(r.pauseMillis > 0 ? Instant.ofEpochMilli(r.pauseMillis) : null)
                .resumed(r.resumeMillis > 0 ? Instant.ofEpochMilli(r.resumeMillis) : null)
                .outcome(outcome, reason, detail).statistics(stats).transcriptHash(r.transcriptHash)
                .manifestDigest(r.manifestDigest);
        // several recorded names map to one kind (POLICY and UNRECORDED_REFUSALS are both UNEXPECTED_RECORD): their
        // counts add up, the first example stays
        Map<AnomalyKind, long[]> counts = new java.util.EnumMap<>(AnomalyKind.class);
        Map<AnomalyKind, String> examples = new java.util.EnumMap<>(AnomalyKind.class);
        for (Map.Entry<String, Long> a : r.anomalies.entrySet()) {
            AnomalyKind k = switch (a.getKey()) {
                case "REPLAY" -> AnomalyKind.REPLAY;
                case "TAMPERED", "MANIFEST_MISMATCH" -> AnomalyKind.TAMPER;
                case "REORDERED" -> AnomalyKind.REORDER;
                case "DEADLINE" -> AnomalyKind.DEADLINE;
                default -> AnomalyKind.UNEXPECTED_RECORD;
            };
            counts.computeIfAbsent(k, x -> new long[1])[0] += a.getValue();
            examples.putIfAbsent(k, r.anomalyExamples.getOrDefault(a.getKey(), a.getKey()));
        }
        for (Map.Entry<AnomalyKind, long[]> c : counts.entrySet()) {
            b.anomaly(c.getKey(), c.getValue()[0], truncate(examples.get(c.getKey()), 250));
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw SimHypervisor.err(Reason.INTERNAL, "cannot build the attestation record of migration " + r.id
                    + ": " + e.getMessage());
        }
    }

    /** The first field this hypervisor computed itself that differs, or null. Timestamps and statistics are the proposer's. */
    private static String firstDifference(AttestationRecord mine, AttestationRecord theirs) {
        if (!Arrays.equals(mine.migrationId(), theirs.migrationId())) {
            return "migration id";
        }
        if (!mine.vmId().equals(theirs.vmId())) {
            return "VM id";
        }
        if (!mine.source().equals(theirs.source())) {
            return "source party";
        }
        if (!mine.destination().equals(theirs.destination())) {
            return "destination party";
        }
        if (mine.policySerial() != theirs.policySerial()) {
            return "policy serial";
        }
        if (!mine.suite().equals(theirs.suite())) {
            return "suite";
        }
        if (mine.outcome() != theirs.outcome()) {
            return "outcome (" + theirs.outcome() + " vs " + mine.outcome() + ")";
        }
        if (!Arrays.equals(mine.transcriptHash().orElse(new byte[32]), theirs.transcriptHash().orElse(new byte[32]))) {
            return "transcript hash";
        }
        if (!Arrays.equals(mine.manifestDigest().orElse(new byte[32]), theirs.manifestDigest().orElse(new byte[32]))) {
            return "manifest digest";
        }
        return null;
    }

    /** Parses the engine's statistics; anything else is recorded as no statistics (the record stays valid). */
    static Statistics statistics(byte[] agent) {
        if (agent == null || agent.length == 0) {
            return Statistics.NONE;
        }
        try {
            CanonicalReader r = new CanonicalReader(agent, "agent statistics");
            if (!AGENT_STATISTICS_LABEL.equals(r.str(64, "label"))) {
                return Statistics.NONE;
            }
            r.str(16, "mode");
            long rounds = r.u32("rounds");
            long normal = r.u64("pages normal");
            long prot = r.u64("pages protected");
            long zero = r.u64("pages zero");
            long bytes = r.u64("bytes");
            long downtime = r.u64("downtime ns");
            long total = r.u64("total ns");
            r.expectEnd();
            return new Statistics(rounds, normal, prot, zero, bytes, downtime / 1_000_000, total / 1_000_000);
        } catch (ProtocolException | RuntimeException e) {
            return Statistics.NONE;
        }
    }

    private static String truncate(String s, int maxBytes) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= maxBytes) {
            return s;
        }
        return new String(b, 0, maxBytes, StandardCharsets.UTF_8).replace('\uFFFD', '?');
    }
}
