package org.sealift.protocol.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.Policy;

/**
 * Records of plain migrations between two hosts whose hypervisors hold no AK (unpatched Xen), signed by the agents'
 * dom0-held keys: they verify (signatures, chain, policy, log chain) with the weaker trust level stated, and they
 * cannot pass for hypervisor-signed records.
 */
class Dom0SignedRecordTest {

    private final Cluster cluster = new Cluster();

    Dom0SignedRecordTest() throws ProtocolException {
    }

    /** An agent in dom0 with its own record-signing key and a log it tracks itself (nothing below dom0 does). */
    final class Dom0Host {
        final String id;
        final AttestationSigner key = AttestationSigner.of(Cluster.ed25519());
        final X509Certificate cert;
        final AttestationLog file;

        Dom0Host(String id) throws ProtocolException {
            this.id = id;
            cert = cluster.ca.issueDom0SignerCertificate(id, Dom0Signer.createCsr(key, id),
                    Cluster.NOW.minus(Duration.ofDays(10)), Cluster.YEAR);
            file = AttestationLog.create(id);
        }

        Party party() {
            return new Party(id, Certificates.fingerprint(cert), new byte[32]);
        }

        SignedHead head(Challenge c) throws ProtocolException {
            return SignedHead.sign(key, id, file.size(), file.headHash(), file.size(), c.nonce());
        }
    }

    private Policy allowingDom0(String pattern) {
        return cluster.policy(2).allowDom0Signer(pattern).build();
    }

    private AttestationRecord plainRecord(Party src, Party dst) {
        return AttestationRecord.builder().migrationId(cluster.nextMigrationId())
                .vmId(UUID.nameUUIDFromBytes("sealift-vm:sealift-traveller".getBytes()))
                .source(src).destination(dst).policySerial(2).suite(AttestationRecord.PLAIN_SUITE)
                .started(Cluster.NOW.minusSeconds(60)).paused(Cluster.NOW.minusSeconds(20))
                .resumed(Cluster.NOW.minusSeconds(19)).outcome(Outcome.COMMITTED, "", "plain migration")
                .statistics(new Statistics(3, 6148, 0, 10, 25_000_000, 2_300, 60_000)).build();
    }

    private SignedRecord migrate(Dom0Host a, Dom0Host b) throws ProtocolException {
        SignedRecord sr = SignedRecord.unsigned(plainRecord(a.party(), b.party())).sign(Side.SOURCE, a.key)
                .sign(Side.DESTINATION, b.key);
        a.file.append(sr);
        b.file.append(sr);
        return sr;
    }

    private VerificationResult verify(Policy p, Dom0Host h, List<X509Certificate> certs) throws ProtocolException {
        LogVerifier v = new LogVerifier(cluster.ca.trust(), cluster.ca.signPolicy(p), certs);
        Challenge c = v.challenge();
        return v.verify(h.file, h.head(c), c, null, Cluster.NOW);
    }

    @Test
    void plainRecordSignedByBothDom0SignersVerifiesAndSaysWhatItDoesNotProve() throws Exception {
        Dom0Host xa = new Dom0Host("xa");
        Dom0Host xb = new Dom0Host("xb");
        migrate(xa, xb);
        for (Dom0Host h : List.of(xa, xb)) {
            VerificationResult r = verify(allowingDom0("x*"), h, List.of(xa.cert, xb.cert));
            assertTrue(r.ok(), r.toString());
            assertEquals(1, r.records().size());
            assertTrue(r.notes().stream().anyMatch(n -> n.contains("signed by a dom0-held key on an unpatched"
                    + " hypervisor: records what the agents did, not what a hypervisor enforced")
                    && n.contains("source (host xa)") && n.contains("destination (host xb)")), r.toString());
            assertTrue(r.notes().stream().anyMatch(n -> n.contains("signed head of host " + h.id)
                    && n.contains("cannot show a truncation or rollback of the log by dom0 itself")), r.toString());
            assertTrue(r.toString().contains("note "), r.toString());
        }
        LogVerifier v = new LogVerifier(cluster.ca.trust(), allowingDom0("x*"), List.of(xa.cert, xb.cert));
        assertTrue(v.crossCheck(xa.file, xb.file).ok());
    }

    @Test
    void aPolicyThatDoesNotAllowDom0SignersRefusesTheirRecords() throws Exception {
        Dom0Host xa = new Dom0Host("xa");
        Dom0Host xb = new Dom0Host("xb");
        migrate(xa, xb);
        VerificationResult r = verify(cluster.policy(2).build(), xa, List.of(xa.cert, xb.cert));
        assertFalse(r.ok());
        assertTrue(r.mentions("does not accept dom0 signers") && r.mentions("--allow-dom0-signer xb"), r.toString());
        // only xa allowed: the record still fails for xb's signature
        VerificationResult half = verify(allowingDom0("xa"), xa, List.of(xa.cert, xb.cert));
        assertFalse(half.ok());
        assertTrue(half.mentions("destination AK of host xb is not acceptable"), half.toString());
    }

    @Test
    void tamperedCopyOfADom0SignedRecordFails() throws Exception {
        Dom0Host xa = new Dom0Host("xa");
        Dom0Host xb = new Dom0Host("xb");
        SignedRecord sr = migrate(xa, xb);
        // dom0 edits its copy: more rounds than happened, signatures kept
        AttestationRecord r = sr.record();
        AttestationRecord edited = AttestationRecord.fromCanonicalBytes(replaceRounds(r.toCanonicalBytes(), r));
        SignedRecord forged = SignedRecord.unsigned(edited).withSignature(Side.SOURCE, sr.signature(Side.SOURCE)
                .orElseThrow()).withSignature(Side.DESTINATION, sr.signature(Side.DESTINATION).orElseThrow());
        AttestationLog copy = AttestationLog.create("xa");
        copy.append(forged);
        LogVerifier v = new LogVerifier(cluster.ca.trust(), allowingDom0("x*"), List.of(xa.cert, xb.cert));
        VerificationResult res = v.verify(copy, null, v.challenge(), null, Cluster.NOW);
        assertTrue(res.mentions("source signature does not verify with AK of host xa"), res.toString());
        assertTrue(res.mentions("destination signature does not verify with AK of host xb"), res.toString());
        assertTrue(res.notes().stream().noneMatch(n -> n.contains(Dom0Signer.TRUST_LEVEL)),
                "no trust line for a record that failed: " + res);
    }

    private static byte[] replaceRounds(byte[] canonical, AttestationRecord r) {
        // the rounds field (u32) follows the detail string; find it by re-encoding with another value
        AttestationRecord other = AttestationRecord.builder().migrationId(r.migrationId()).vmId(r.vmId())
                .source(r.source()).destination(r.destination()).policySerial(r.policySerial()).suite(r.suite())
                .started(r.started()).paused(r.paused().orElse(null)).resumed(r.resumed().orElse(null))
                .outcome(r.outcome(), r.reasonName(), r.detail())
                .statistics(new Statistics(99, 6148, 0, 10, 25_000_000, 2_300, 60_000)).build();
        byte[] b = other.toCanonicalBytes();
        assertFalse(java.util.Arrays.equals(b, canonical));
        return b;
    }

    @Test
    void dom0SignedRecordCannotPassAsAHypervisorSignedSecureMigration() throws Exception {
        // dom0 holds its key, so it can sign anything: a record claiming a secure migration with a handshake and a
        // manifest, signed at both ends by dom0-held keys. The verifier refuses it as a secure record.
        Dom0Host xa = new Dom0Host("xa");
        Dom0Host xb = new Dom0Host("xb");
        AttestationRecord secureLooking = AttestationRecord.builder().migrationId(cluster.nextMigrationId())
                .vmId(UUID.randomUUID()).source(xa.party()).destination(xb.party()).policySerial(2)
                .suite(Cluster.SUITE).started(Cluster.NOW.minusSeconds(60)).paused(Cluster.NOW.minusSeconds(20))
                .resumed(Cluster.NOW.minusSeconds(19)).outcome(Outcome.COMMITTED, "", "")
                .transcriptHash(Cluster.filled(0x7a)).manifestDigest(Cluster.filled(0x4d))
                .statistics(new Statistics(4, 100, 20, 0, 500_000, 100, 1_000)).build();
        xa.file.append(SignedRecord.unsigned(secureLooking).sign(Side.SOURCE, xa.key).sign(Side.DESTINATION, xb.key));
        VerificationResult r = verify(allowingDom0("*"), xa, List.of(xa.cert, xb.cert));
        assertFalse(r.ok());
        assertTrue(r.mentions("the source signature is from host xa's dom0-held key, but the record claims a"
                + " secure migration") && r.mentions("cannot stand in for one"), r.toString());
        assertTrue(r.records().isEmpty());
    }

    @Test
    void hypervisorSignedSecureRecordStaysFullyTrustedBesideDom0Signers() throws Exception {
        Cluster.Host h1 = cluster.host("h1");
        Cluster.Host h2 = cluster.host("h2");
        cluster.migrate(h1, h2, Outcome.COMMITTED);
        LogVerifier v = new LogVerifier(cluster.ca.trust(), cluster.ca.signPolicy(allowingDom0("*")),
                cluster.certs(h1, h2));
        Challenge c = v.challenge();
        VerificationResult r = v.verify(h1.file, h1.head(c), c, null, Cluster.NOW);
        assertTrue(r.ok(), r.toString());
        assertTrue(r.notes().isEmpty(), "no weaker-trust note for hypervisor-signed records: " + r);
    }

    @Test
    void plainRecordClaimingHypervisorSignaturesFails() throws Exception {
        // hypervisors take no part in plain migrations: a "plain" record under AK signatures is made up
        Cluster.Host h1 = cluster.host("h1");
        Cluster.Host h2 = cluster.host("h2");
        SignedRecord sr = Cluster.signedByBoth(plainRecord(h1.party(), h2.party()), h1, h2);
        h1.append(sr);
        LogVerifier v = new LogVerifier(cluster.ca.trust(), cluster.ca.signPolicy(allowingDom0("*")),
                cluster.certs(h1, h2));
        Challenge c = v.challenge();
        VerificationResult r = v.verify(h1.file, h1.head(c), c, null, Cluster.NOW);
        assertFalse(r.ok());
        assertTrue(r.mentions("claims a plain migration, but its source signature is from the hypervisor AK"),
                r.toString());
    }

    @Test
    void aPlainRecordCarriesNoTranscriptOrManifest() {
        AttestationRecord.Builder b = AttestationRecord.builder().migrationId(cluster.nextMigrationId())
                .vmId(UUID.randomUUID()).source(new Party("xa", Cluster.filled(1), new byte[32]))
                .destination(new Party("xb", Cluster.filled(2), new byte[32])).policySerial(1)
                .suite(AttestationRecord.PLAIN_SUITE).started(Cluster.NOW).outcome(Outcome.COMMITTED, "", "")
                .transcriptHash(Cluster.filled(0x7a));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains("no transcript hash"), e.getMessage());
    }
}
