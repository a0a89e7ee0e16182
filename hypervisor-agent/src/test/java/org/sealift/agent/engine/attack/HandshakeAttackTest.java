package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.VendorRoot;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * Threat → test matrix, the handshake rows played end to end between two simulated hosts (the pki and handshake
 * libraries test each check in isolation; here the real engines and hypervisors must end REJECTED, with the
 * reason, and the VM must keep running at the source): downgrade of the stream header, the version number or the
 * suite, an unattested peer, a withheld policy update, and dom0 presenting an attestation-key certificate of its
 * own making, an expired or foreign-CA one, or the agent's TLS certificate in place of a hypervisor's AK chain.
 */
class HandshakeAttackTest extends AttackSuite {

    @Test
    void downgradeOfTheStreamHeader() throws Exception {
        SimRun m = secure(quietVm());
        // dom0 rewrites the destination's stream header to plain mode (SECURE flag cleared)
        m.headerTamper = (d, h) -> {
            if (d == Direction.DESTINATION_TO_SOURCE) {
                h[11] = 0;
            }
            return h;
        };
        m.run();
        assertRejectedAndStillRunning(m);
        AttestationRecord src = record(m.source);
        assertEquals(Outcome.REJECTED, src.outcome());
        assertEquals(Reason.DOWNGRADE.name(), src.reasonName(), src.toString());
        cleanup(m);
    }

    @Test
    void downgradeOfTheSuite() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO)) {
                ByteBuffer.wrap(r.body).putInt(4, 2); // offer a suite this build does not accept
            }
            out.forward(r);
        };
        m.run();
        assertRejectedAndStillRunning(m);
        assertTrue(m.destination.summary().reason().startsWith(Reason.DOWNGRADE.name()),
                m.destination.summary().reason());
        assertDestinationRejected(m, Reason.DOWNGRADE);
        cleanup(m);
    }

    @Test
    void unattestedHost() throws Exception {
        SimRun m = secure(quietVm());
        // dom0 strips the AK certificate chain from HELLO: the source can no longer prove what it runs
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO)) {
                r.body = Arrays.copyOf(r.body, 120);
                ByteBuffer.wrap(r.body).putInt(112, 0).putInt(116, 0);
            }
            out.forward(r);
        };
        m.run();
        assertRejectedAndStillRunning(m);
        assertTrue(m.destination.summary().reason().startsWith(Reason.UNATTESTED.name()),
                m.destination.summary().reason());
        assertDestinationRejected(m, Reason.UNATTESTED);
        cleanup(m);
    }

    @Test
    void oldPolicyWithheld() throws Exception {
        // dom0 at the destination does not install the new policy: the two hypervisors' serials differ
        cluster.publishPolicyTo("h1");
        try {
            SimRun m = secure(quietVm());
            m.run();
            assertRejectedAndStillRunning(m);
            String reasons = m.source.summary().reason() + " | " + m.destination.summary().reason();
            assertTrue(reasons.contains(Reason.REPLAY.name()) || reasons.contains(Reason.POLICY.name()), reasons);
            // h2, behind, refuses the source's newer serial (install it here) and keeps its own record of that
            assertDestinationRejected(m, Reason.POLICY);
            cleanup(m);
        } finally {
            cluster.publishPolicy(); // both hosts current again
        }
    }

    // ---- attestation-key certificates dom0 can get hold of (rows 23, 26, 27) ------------------------------------

    static final Duration DAY = Duration.ofDays(1);
    /** Within the validity of a CA made a moment ago for a day. */
    static final Duration HOURS = Duration.ofHours(12);

    /** A fresh Ed25519 key pair in dom0's hands. */
    static KeyPair dom0Key() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    static List<byte[]> chain(X509Certificate leaf, X509Certificate ca) {
        return Certificates.encodeChain(List.of(leaf, ca));
    }

    /** The host's own endorsed AK enrollment request, which dom0 can ask for and read (it is public). */
    static AkEnrollment enrollmentOf(SimBackend host) throws Exception {
        return AkEnrollment.fromPem(new String(host.createEnrollmentRequest(), StandardCharsets.US_ASCII));
    }

    /**
     * dom0 cannot get the cluster CA to certify a key of its own: without the hypervisor's endorsement the CA
     * refuses. So it makes the whole chain itself: a vendor root and an "EK" of its own endorse its key, and a CA it
     * created under the cluster CA's very name certifies it. Nothing of it verifies under the real cluster CA.
     */
    static List<byte[]> dom0MadeAkChain(String hostId) throws Exception {
        Instant now = Instant.now();
        AkCsr csr = AkCsr.create(AttestationSigner.of(dom0Key()), hostId, h1.identity().measurement());
        ProtocolException refused = assertThrows(ProtocolException.class,
                () -> cluster.ca().issueAkCertificate(new AkEnrollment(csr, List.of(), new byte[0]), now, DAY));
        assertEquals(Reason.UNATTESTED, refused.reason(), refused.getMessage());
        assertTrue(refused.getMessage().contains("is not endorsed"), refused.getMessage());

        String clusterCaName = Certificates.subjectCn(cluster.ca().certificate());
        ClusterCa own = ClusterCa.create(clusterCaName, now.minusSeconds(60), DAY);
        VendorRoot vendor = VendorRoot.create("dom0 vendor", now.minusSeconds(60), DAY);
        own.trustVendorRoot(vendor.certificate());
        EndorsementKey ek = vendor.manufacture(hostId, now.minusSeconds(60), HOURS);
        return chain(own.issueAkCertificate(ek.endorse(csr), now.minusSeconds(30), HOURS), own.certificate());
    }

    @Test
    void akCertificateDom0MadeItselfIsRefusedInTheHandshake() throws Exception {
        List<byte[]> forged = dom0MadeAkChain("h1");
        HypervisorException install = assertThrows(HypervisorException.class,
                () -> h1.installAttestationCertificate(forged), "the hypervisor keeps its own AK certificate");
        assertNotNull(install.getMessage());
        // dom0 sends its leaf alone: it names the cluster CA as issuer, but the cluster CA's key did not sign it
        SimRun m = secure(quietVm());
        m.tamper = AkChainSwap.replacing(RecordType.HELLO, forged.subList(0, 1));
        m.run();
        assertRejected(m, m.destination, Reason.CERTIFICATE, "does not verify with cluster CA");
        cleanup(m);
    }

    @Test
    void akCertificateDom0MadeItselfForTheDestinationIsRefusedBySource() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = AkChainSwap.replacing(RecordType.HELLO_REPLY, dom0MadeAkChain("h2"));
        m.run();
        assertRejected(m, m.source, Reason.CERTIFICATE, "foreign CA");
        cleanup(m);
    }

    @Test
    void expiredAkCertificateOfTheRealKeyIsRefused() throws Exception {
        // a certificate the cluster CA really issued for h1's real AK, valid for a second when the host was new,
        // which dom0 kept after it expired
        Instant hostMade = Certificates.parse(h1.identity().endorsementChain().get(0)).getNotBefore().toInstant();
        List<byte[]> expired = chain(cluster.ca().issueAkCertificate(enrollmentOf(h1), hostMade,
                Duration.ofSeconds(1)), cluster.ca().certificate());
        assertTrue(Instant.now().isAfter(hostMade.plusSeconds(1)), "expired by now");
        assertThrows(HypervisorException.class, () -> h1.installAttestationCertificate(expired));
        SimRun m = secure(quietVm());
        m.tamper = AkChainSwap.replacing(RecordType.HELLO, expired);
        m.run();
        assertRejected(m, m.destination, Reason.CERTIFICATE, "needs a new AK certificate");
        cleanup(m);
    }

    @Test
    void akCertificateOfTheRealKeyFromAForeignCaIsRefused() throws Exception {
        // another cluster's CA (same name as ours) that trusts the same hardware vendor certifies h2's real,
        // properly endorsed AK: endorsement, key and measurement are right, only the CA is not this cluster's
        X509Certificate vendorRoot = Certificates.parse(h2.identity().endorsementChain()
                .get(h2.identity().endorsementChain().size() - 1));
        ClusterCa foreign = ClusterCa.create(Certificates.subjectCn(cluster.ca().certificate()),
                Instant.now().minusSeconds(60), DAY);
        foreign.trustVendorRoot(vendorRoot);
        List<byte[]> foreignChain = chain(foreign.issueAkCertificate(enrollmentOf(h2), Instant.now(), HOURS),
                foreign.certificate());
        assertThrows(HypervisorException.class, () -> h2.installAttestationCertificate(foreignChain));
        SimRun m = secure(quietVm());
        m.tamper = AkChainSwap.replacing(RecordType.HELLO_REPLY, foreignChain);
        m.run();
        assertRejected(m, m.source, Reason.CERTIFICATE, "foreign CA");
        cleanup(m);
    }

    @Test
    void agentTlsCertificateUsedAsAttestationKey() throws Exception {
        // dom0 holds the agent's TLS key and its certificate from the real cluster CA (an Ed25519 key, like an AK)
        X509Certificate tls = cluster.ca().issueAgentTlsCertificate("h1", dom0Key().getPublic(), Instant.now(), HOURS);
        List<byte[]> tlsChain = chain(tls, cluster.ca().certificate());
        assertThrows(HypervisorException.class, () -> h1.installAttestationCertificate(tlsChain));
        SimRun m = secure(quietVm());
        m.tamper = AkChainSwap.replacing(RecordType.HELLO, tlsChain);
        m.run();
        assertRejected(m, m.destination, Reason.CERTIFICATE, "TLS certificate");
        cleanup(m);
    }

    // ---- the version number (row 28) ---------------------------------------------------------------------------

    /** Runs a migration in which dom0 rewrites the version field (octet 0) of every {@code type} record to 0. */
    static SimRun withVersionZeroIn(RecordType type) throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(type)) {
                ByteBuffer.wrap(r.body).putInt(0, 0);
            }
            out.forward(r);
        };
        return m.run();
    }

    @Test
    void downgradeOfTheVersionNumberInHello() throws Exception {
        SimRun m = withVersionZeroIn(RecordType.HELLO);
        assertRejected(m, m.destination, Reason.DOWNGRADE, "HELLO says protocol version 0");
        cleanup(m);
    }

    @Test
    void downgradeOfTheVersionNumberInTheReply() throws Exception {
        SimRun m = withVersionZeroIn(RecordType.HELLO_REPLY);
        assertRejected(m, m.source, Reason.DOWNGRADE, "HELLO_REPLY version 0");
        cleanup(m);
    }

    /**
     * The engine leaves a secure stream header's version to the hypervisor (it is in the signed transcript), so the
     * source's hypervisor judges the rewritten version itself and its record says DOWNGRADE.
     */
    @Test
    void rewrittenVersionNumberInTheStreamHeader() throws Exception {
        SimRun m = secure(quietVm());
        m.headerTamper = (d, h) -> {
            if (d == Direction.DESTINATION_TO_SOURCE) {
                ByteBuffer.wrap(h).putShort(8, (short) 0); // the version field of the destination's header
            }
            return h;
        };
        m.run();
        assertRejected(m, m.source, Reason.DOWNGRADE, "peer speaks SMP version 0, below version 1");
        cleanup(m);
    }

    /** The same rewrite of the source's header: the destination's hypervisor refuses HELLO and records DOWNGRADE. */
    @Test
    void rewrittenVersionNumberInTheSourceStreamHeader() throws Exception {
        SimRun m = secure(quietVm());
        m.headerTamper = (d, h) -> {
            if (d == Direction.SOURCE_TO_DESTINATION) {
                ByteBuffer.wrap(h).putShort(8, (short) 0);
            }
            return h;
        };
        m.run();
        assertRejected(m, m.destination, Reason.DOWNGRADE, "peer speaks SMP version 0, below version 1");
        cleanup(m);
    }

    // ---- the destination's own record of a refused HELLO (G6) ----------------------------------------------------

    /** dom0 at the destination prepared another VM than the one HELLO names: POLICY, recorded by the destination. */
    @Test
    void helloForAnotherVmIsRefusedAndRecordedByTheDestination() throws Exception {
        SimRun m = secure(quietVm());
        UUID other = UUID.randomUUID();
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO)) {
                ByteBuffer.wrap(r.body).putLong(32, other.getMostSignificantBits())
                        .putLong(40, other.getLeastSignificantBits());
            }
            out.forward(r);
        };
        m.run();
        assertRejected(m, m.destination, Reason.POLICY, "HELLO is for VM " + other);
        cleanup(m);
    }

    /**
     * dom0 (here: an agent of the cluster whose TLS key dom0 holds, offering migrations to h2) floods the destination
     * with HELLOs it must refuse. Each refusal is refused, but only {@code REFUSAL_BURST} get a record at once; a
     * HELLO naming a migration id already recorded adds nothing; the count of the unrecorded ones is in the next
     * record the budget allows. So the log grows by a bounded number of small records, never by one per HELLO.
     */
    @Test
    void aFloodOfRefusedHellosGetsABoundedNumberOfRecords() throws Exception {
        String flooder = "flood-" + System.nanoTime() % 100000; // a budget of its own, apart from h1's
        DomainConfig vm = quietVm();
        int burst = 16; // Migrations.REFUSAL_BURST, as documented in docs/threat-model.md section 8
        List<MigrationId> recorded = new java.util.ArrayList<>();
        List<MigrationId> all = new java.util.ArrayList<>();
        for (int i = 0; i <= burst; i++) {
            MigrationId id = refuseOneHello(vm, flooder, null);
            all.add(id);
            if (h2.decisions().stream().anyMatch(d -> d.id().equals(id))) {
                recorded.add(id);
            }
        }
        assertEquals(burst, recorded.size(), "the first " + burst + " refusals are recorded, the next one is not");
        assertEquals(all.subList(0, burst), recorded);
        for (MigrationId id : recorded) {
            AttestationRecord r = recordAt(h2, id);
            assertRecord(r, Outcome.REJECTED, Reason.POLICY);
            assertEquals(flooder, r.source().hostId());
        }
        HypervisorException none = assertThrows(HypervisorException.class, () -> h2.signAttestation(all.get(burst),
                new byte[0]));
        assertEquals(HypervisorException.Reason.NOT_FOUND, none.reason(), none.getMessage());

        // a recorded migration id again, claimed by a source whose budget is not spent: still one record
        int before = h2.decisions().size();
        refuseOneHello(vm, "h1", all.get(0));
        assertEquals(before, h2.decisions().size(), "a HELLO naming a recorded migration id adds no record");
        assertEquals(flooder, recordAt(h2, all.get(0)).source().hostId(), "the first record stands");

        // another source is not starved by the flood
        MigrationId fromH1 = refuseOneHello(vm, "h1", null);
        assertRecord(recordAt(h2, fromH1), Outcome.REJECTED, Reason.POLICY);
    }

    /**
     * Opens a destination for {@code vm} at h2 as if {@code claimedSource} offered it, and hands it a HELLO for
     * another VM (refused: POLICY) with migration id {@code id} (random if null). Returns the id.
     */
    static MigrationId refuseOneHello(DomainConfig vm, String claimedSource, MigrationId id) throws Exception {
        byte[] mid = new byte[16];
        if (id == null) {
            new java.security.SecureRandom().nextBytes(mid);
        } else {
            mid = id.bytes();
        }
        UUID other = UUID.randomUUID();
        ByteBuffer body = ByteBuffer.allocate(48).putInt(1).putInt(1).putLong(h2.identity().policySerial()).put(mid)
                .putLong(other.getMostSignificantBits()).putLong(other.getLeastSignificantBits());
        byte[] hello = RecordEncoder.encode(new WireRecord(RecordType.HELLO, 0, body.array()));
        DestinationSession s = h2.openSecureDestination(new DestinationRequest(vm, Optional.of(claimedSource),
                DestinationRequest.DEFAULT_READY_DEADLINE_MS));
        try {
            HypervisorException refused = assertThrows(HypervisorException.class,
                    () -> s.onHello(StreamHeader.secureV1().encode(), hello));
            assertEquals(Reason.POLICY, refused.protocolReason().orElseThrow(), refused.getMessage());
            s.abort(Reason.POLICY, "refused");
        } finally {
            h2.destroyDomain(s.domId());
        }
        return MigrationId.of(mid);
    }
}
