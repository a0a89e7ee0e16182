package org.sealift.protocol.attest;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.PolicyStore;
import org.sealift.protocol.pki.VendorRoot;

/**
 * A simulated cluster for log tests, built only through the public pki API: CA, vendor, hosts whose "hypervisor"
 * keeps the log head and a monotonic counter apart from the log file that dom0 holds.
 */
final class Cluster {

    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final Duration YEAR = Duration.ofDays(365);
    static final String SUITE = "SMP1-X25519-ED25519-AES256GCM-SHA256";
    static final byte[] MEASUREMENT = filled(0x11);

    final ClusterCa ca = ClusterCa.create("prod-cluster", NOW.minus(Duration.ofDays(30)), YEAR.multipliedBy(5));
    final VendorRoot vendor = VendorRoot.create("Simulated Hardware Inc", NOW.minus(Duration.ofDays(60)),
            YEAR.multipliedBy(10));
    final PolicyStore store;
    private int nextMigration = 0x30;

    Cluster() throws ProtocolException {
        ca.trustVendorRoot(vendor.certificate());
        store = new PolicyStore(ca.trust());
        store.accept(ca.signPolicy(policy(1).build()), NOW);
    }

    Policy.Builder policy(long serial) {
        return Policy.builder("prod-2026", serial).validity(NOW.minus(Duration.ofDays(20)), NOW.plus(YEAR))
                .allowSuite(SUITE).allowMeasurement(MEASUREMENT, "sim-hv-1.0").allowReceive("*", "*");
    }

    Policy policy() throws ProtocolException {
        return store.current(NOW);
    }

    static byte[] filled(int b) {
        byte[] x = new byte[32];
        Arrays.fill(x, (byte) b);
        return x;
    }

    static KeyPair ed25519() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A host: its hypervisor's AK and sealed log head, and the log file dom0 keeps. */
    final class Host {
        final String id;
        final AttestationSigner ak = AttestationSigner.of(ed25519());
        final X509Certificate akCert;
        AttestationLog file;
        // the hypervisor's sealed state
        long sealedSize;
        byte[] sealedHead;
        long counter;

        Host(String id) throws ProtocolException {
            this.id = id;
            EndorsementKey ek = vendor.manufacture(id, NOW.minus(Duration.ofDays(50)), YEAR.multipliedBy(5));
            akCert = ca.issueAkCertificate(ek.endorse(AkCsr.create(ak, id, MEASUREMENT)),
                    NOW.minus(Duration.ofDays(10)), YEAR);
            file = AttestationLog.create(id);
            sealedHead = AttestationLog.genesis(id);
        }

        Party party() {
            return new Party(id, Certificates.fingerprint(akCert), MEASUREMENT);
        }

        /** The hypervisor appends: file and sealed head move together, the counter goes up. */
        void append(SignedRecord r) {
            file.append(r);
            sealedSize = file.size();
            sealedHead = file.headHash();
            counter++;
        }

        /** The hypervisor signs what its sealed state says, whatever dom0 did to the file. */
        SignedHead head(Challenge c) throws ProtocolException {
            return SignedHead.sign(ak, id, sealedSize, sealedHead, counter, c.nonce());
        }
    }

    Host host(String id) throws ProtocolException {
        return new Host(id);
    }

    byte[] nextMigrationId() {
        byte[] m = new byte[16];
        Arrays.fill(m, (byte) nextMigration++);
        return m;
    }

    AttestationRecord.Builder record(Host src, Host dst, Outcome outcome) {
        AttestationRecord.Builder b = AttestationRecord.builder().migrationId(nextMigrationId())
                .vmId(UUID.fromString("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab")).source(src.party())
                .destination(dst.party()).policySerial(1).suite(SUITE).started(NOW.minusSeconds(60))
                .statistics(new Statistics(4, 250_000, 1_200, 30_000, 1_030_000_000L, 180, 41_000))
                .transcriptHash(filled(0x7a));
        if (outcome == Outcome.COMMITTED) {
            b.paused(NOW.minusSeconds(20)).resumed(NOW.minusSeconds(19)).manifestDigest(filled(0x4d))
                    .outcome(Outcome.COMMITTED, "", "");
        } else if (outcome == Outcome.REJECTED) {
            b.outcome(Outcome.REJECTED, "POLICY", "host " + src.id + " may not send this VM");
        } else {
            b.paused(NOW.minusSeconds(20)).manifestDigest(filled(0x4d)).outcome(outcome, "DEADLINE",
                    "no RELEASE within 30 s").anomaly(AnomalyKind.DEADLINE, 1, "READY sent, nothing for 30 s");
        }
        return b;
    }

    static SignedRecord signedByBoth(AttestationRecord r, Host src, Host dst) throws ProtocolException {
        return SignedRecord.unsigned(r).sign(Side.SOURCE, src.ak).sign(Side.DESTINATION, dst.ak);
    }

    /** One migration src → dst recorded in both hosts' logs. */
    SignedRecord migrate(Host src, Host dst, Outcome outcome) throws ProtocolException {
        SignedRecord sr = signedByBoth(record(src, dst, outcome).build(), src, dst);
        src.append(sr);
        dst.append(sr);
        return sr;
    }

    List<X509Certificate> certs(Host... hosts) {
        List<X509Certificate> out = new ArrayList<>();
        for (Host h : hosts) {
            out.add(h.akCert);
        }
        return out;
    }
}
