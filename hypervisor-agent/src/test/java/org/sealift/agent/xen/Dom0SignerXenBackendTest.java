package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.PlainMigrationFacts;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.VendorRoot;

/**
 * A Xen backend with a dom0-held record signer enrolled, attacked by the dom0 that holds it: the signer changes
 * nothing that needs a hypervisor AK, takes no AK certificate and no other key's certificate, keeps its key
 * owner-only, countersigns only what its own view says, and keeps its log head in order.
 */
class Dom0SignerXenBackendTest {

    @TempDir
    Path tmp;

    private final ClusterCa ca = ClusterCa.create("xen-cluster", Instant.now().minus(Duration.ofHours(1)),
            Duration.ofDays(30));

    /** Opens host {@code id} with its signer and enrolls it as 'ca enroll --dom0-signer' would. */
    private XenBackend enrolled(FakeXen host, String id, Path credentials) throws Exception {
        XenBackend xen = host.open().withDom0Signer(id, tmp.resolve("data-" + id), credentials);
        byte[] request = xen.createEnrollmentRequest();
        byte[] csr = Pem.decode(new String(request, StandardCharsets.US_ASCII)).get(0).content();
        X509Certificate cert = ca.issueDom0SignerCertificate(id, csr, Instant.now().minusSeconds(60),
                Duration.ofDays(1));
        xen.installClusterTrust(ca.trust().toPem().getBytes(StandardCharsets.US_ASCII));
        xen.installAttestationCertificate(Certificates.encodeChain(List.of(cert, ca.certificate())));
        Files.createDirectories(credentials);
        List<X509Certificate> all = new java.util.ArrayList<>();
        Path bundle = credentials.resolve("dom0-signers.pem");
        if (Files.exists(bundle)) {
            all.addAll(Certificates.read(bundle));
        }
        all.add(cert);
        Certificates.write(bundle, all);
        return xen;
    }

    @Test
    void withADom0SignerEverythingThatNeedsAnAkIsStillRefused() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("a"), FakeXen.UNPATCHED);
        try (XenBackend xen = enrolled(host, "xa", tmp.resolve("cred"))) {
            assertTrue(xen.identity().enrolled(), "the dom0 signer is installed");
            MigrationId id = MigrationId.of(new byte[16]);
            DomainConfig cfg = new DomainConfig("remote", 16, 1, List.of(), WorkloadSpec.idle(0));
            Map<String, Executable> calls = new LinkedHashMap<>();
            calls.put("beginSecureSource", () -> xen.beginSecureSource(new SourceRequest(1, Optional.empty())));
            calls.put("openSecureDestination", () -> xen.openSecureDestination(DestinationRequest.of(cfg)));
            calls.put("exportToken", () -> xen.exportToken(id, TokenKind.RELEASE));
            calls.put("importToken", () -> xen.importToken(new byte[1]));
            calls.put("importFence", () -> xen.importFence(new byte[1], new byte[1]));
            // the engine's statistics of a secure migration: a hypervisor-signed record, which this key never makes
            calls.put("signAttestation(secure)", () -> xen.signAttestation(id, new org.sealift.protocol.pki
                    .CanonicalWriter().str("SMP1/agent-statistics").str("SECURE").u32(1).u64(1).u64(1).u64(0)
                    .u64(4096).u64(1).u64(1).toByteArray()));
            for (Map.Entry<String, Executable> c : calls.entrySet()) {
                HypervisorException e = assertThrows(HypervisorException.class, c.getValue(), c.getKey());
                assertEquals(Reason.REFUSED, e.reason(), c.getKey());
                assertTrue(e.getMessage().contains("Sealift's protection module inside the hypervisor"), c.getKey()
                        + ": " + e.getMessage());
            }
            HypervisorException prot = assertThrows(HypervisorException.class, () -> xen.createDomain(new DomainConfig(
                    "protected", 16, 1, List.of(ProtectedProcessSpec.of("p", 0, 16)), WorkloadSpec.idle(0))));
            assertTrue(prot.getMessage().contains("protect"), prot.getMessage());
        }
    }

    @Test
    void anAttestationKeyCertificateOrAnotherKeysCertificateIsNotInstalled() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("a"), FakeXen.UNPATCHED);
        try (XenBackend xen = enrolled(host, "xa", tmp.resolve("cred"))) {
            // a genuine AK certificate of some hypervisor: the signer is no AK and takes none
            VendorRoot vendor = VendorRoot.create("Vendor", Instant.now().minus(Duration.ofDays(1)),
                    Duration.ofDays(60));
            ca.trustVendorRoot(vendor.certificate());
            EndorsementKey ek = vendor.manufacture("xa", Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(20));
            AttestationSigner ak = AttestationSigner.of(java.security.KeyPairGenerator.getInstance("Ed25519")
                    .generateKeyPair());
            X509Certificate akCert = ca.issueAkCertificate(ek.endorse(AkCsr.create(ak, "xa", new byte[32])),
                    Instant.now(), Duration.ofDays(1));
            HypervisorException asAk = assertThrows(HypervisorException.class, () -> xen.installAttestationCertificate(
                    Certificates.encodeChain(List.of(akCert, ca.certificate()))));
            assertTrue(asAk.getMessage().contains("is not a dom0-signer certificate"), asAk.getMessage());
            // a dom0-signer certificate of another key (dom0 enrolled a second key under the same host id)
            AttestationSigner other = AttestationSigner.of(java.security.KeyPairGenerator.getInstance("Ed25519")
                    .generateKeyPair());
            X509Certificate otherCert = ca.issueDom0SignerCertificate("xa", Dom0Signer.createCsr(other, "xa"),
                    Instant.now(), Duration.ofDays(1));
            HypervisorException wrongKey = assertThrows(HypervisorException.class,
                    () -> xen.installAttestationCertificate(Certificates.encodeChain(List.of(otherCert))));
            assertTrue(wrongKey.getMessage().contains("certifies another key"), wrongKey.getMessage());
        }
    }

    @Test
    void aKeyFileOthersCanReadIsRefused() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("a"), FakeXen.UNPATCHED);
        try (XenBackend xen = enrolled(host, "xa", tmp.resolve("cred"))) {
            Path key = tmp.resolve("data-xa").resolve("dom0-signer").resolve("key.pem");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
            // the key is made once: asking again gives the same request (Ed25519 signatures are deterministic)
            assertEquals(new String(xen.createEnrollmentRequest(), StandardCharsets.US_ASCII),
                    new String(xen.createEnrollmentRequest(), StandardCharsets.US_ASCII));
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
            HypervisorException e = assertThrows(HypervisorException.class, () -> host.open().withDom0Signer("xa",
                    tmp.resolve("data-xa"), tmp.resolve("cred")));
            assertTrue(e.getMessage().contains("accessible to others"), e.getMessage());
        }
    }

    @Test
    void theDestinationCountersignsOnlyWhatItsOwnViewSaysAndTheHeadStaysInOrder() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("a"), FakeXen.UNPATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("b"), FakeXen.UNPATCHED);
        Path cred = tmp.resolve("cred");
        try (XenBackend xa = enrolled(a, "xa", cred); XenBackend xb = enrolled(b, "xb", cred)) {
            int dom = xa.createDomain(new DomainConfig("vm1", 16, 1, List.of(), WorkloadSpec.idle(0))).domId();
            PlainMigration plain = xa.beginPlainMigration(dom);
            xa.pause(dom);
            plain.finish(true);
            byte[] stats = new org.sealift.protocol.pki.CanonicalWriter().str("SMP1/agent-statistics").str("PLAIN")
                    .u32(2).u64(4096).u64(0).u64(0).u64(16 << 20).u64(5_000_000).u64(90_000_000).toByteArray();
            Instant start = Instant.now().minusSeconds(5);
            PlainMigrationFacts srcFacts = new PlainMigrationFacts(plain.id(), MigrationRole.SOURCE, "vm1", "xa",
                    "xb", "COMMITTED", "", start, stats);
            SignedAttestation proposal = xa.signAttestation(plain.id(), srcFacts.encode());
            AttestationRecord rec = AttestationRecord.fromCanonicalBytes(proposal.fields());
            assertEquals(AttestationRecord.PLAIN_SUITE, rec.suite());
            assertEquals(Outcome.COMMITTED, rec.outcome());
            assertTrue(rec.paused().isPresent(), "the pause the backend saw is in the record");

            // before the destination has its own view it countersigns nothing
            HypervisorException early = assertThrows(HypervisorException.class,
                    () -> xb.countersignAttestation(plain.id(), proposal.fields()));
            assertTrue(early.getMessage().contains("has not recorded plain migration"), early.getMessage());
            xb.createDomain(new DomainConfig("vm1", 16, 1, List.of(), WorkloadSpec.idle(0)));
            // its own view names another VM than the source's proposal: refused, naming the field
            xb.signAttestation(plain.id(), new PlainMigrationFacts(plain.id(), MigrationRole.DESTINATION, "vm2", "xa",
                    "xb", "COMMITTED", "", start, stats).encode());
            HypervisorException differs = assertThrows(HypervisorException.class,
                    () -> xb.countersignAttestation(plain.id(), proposal.fields()));
            assertEquals(ProtocolException.Reason.TAMPERED, differs.protocolReason().orElseThrow());
            assertTrue(differs.getMessage().contains("vmId"), differs.getMessage());
            // its own view agrees: countersigned
            xb.signAttestation(plain.id(), new PlainMigrationFacts(plain.id(), MigrationRole.DESTINATION, "vm1", "xa",
                    "xb", "COMMITTED", "", start, stats).encode());
            SignedAttestation counter = xb.countersignAttestation(plain.id(), proposal.fields());
            assertEquals(MigrationRole.DESTINATION, counter.role());

            // the log head: an entry that does not follow on is refused, one that does is counted
            byte[] genesis = AttestationLog.genesis("xb");
            assertThrows(HypervisorException.class, () -> xb.appendLogEntry(1, genesis, proposal.fields()));
            assertThrows(HypervisorException.class, () -> xb.appendLogEntry(0, new byte[32], proposal.fields()));
            assertEquals(1, xb.appendLogEntry(0, genesis, proposal.fields()).index());
            assertEquals(1, xb.signLogHead(new byte[32]).index());
        }
    }
}
