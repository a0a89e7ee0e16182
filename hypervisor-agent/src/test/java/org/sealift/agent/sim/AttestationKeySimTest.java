package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Pem;

/**
 * The attestation key is generated inside the hypervisor, enrolled by an EK-endorsed CSR and never leaves: no SPI
 * call returns it, and nothing the hypervisor hands out contains it. What it signs verifies with the certified key.
 */
class AttestationKeySimTest {

    @TempDir
    static Path dir;
    static SimTestCluster cluster;
    static SimBackend h1;
    static SimBackend h2;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimTestCluster.start(dir, false, "a1", "a2");
        h1 = cluster.host("a1");
        h2 = cluster.host("a2");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void noSpiCallCanReturnAKey() {
        List<Class<?>> spi = List.of(HypervisorBackend.class, SourceSession.class, DestinationSession.class,
                PlainMigration.class, GuestMemory.class);
        List<String> offenders = new ArrayList<>();
        for (Class<?> c : spi) {
            for (Method m : c.getMethods()) {
                if (carriesKey(m.getReturnType(), new HashSet<>())) {
                    offenders.add(c.getSimpleName() + "." + m.getName());
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    private static boolean carriesKey(Class<?> t, Set<Class<?>> seen) {
        if (!seen.add(t)) {
            return false;
        }
        if (Key.class.isAssignableFrom(t) && !PublicKey.class.isAssignableFrom(t) || KeyPair.class == t
                || AttestationSigner.class.isAssignableFrom(t) || javax.crypto.SecretKey.class.isAssignableFrom(t)) {
            return true;
        }
        if (t.isRecord()) {
            for (RecordComponent rc : t.getRecordComponents()) {
                if (carriesKey(rc.getType(), seen)) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void theEnrolledKeyIsTheHypervisorsOwnAndItsPrivateHalfAppearsNowhere() throws Exception {
        // the test may look into the simulated hardware (dom0 may not): that is where the AK lives
        PrivateKey ak = Pem.readPrivateKey(cluster.stateDir("a1").resolve("hardware").resolve("ak.key"));
        byte[] pkcs8 = ak.getEncoded();
        byte[] seed = java.util.Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length);

        AkEnrollment e = AkEnrollment.fromPem(new String(h1.createEnrollmentRequest(), StandardCharsets.US_ASCII));
        var certified = Certificates.parse(h1.identity().attestationChain().get(0)).getPublicKey();
        assertArrayEquals(certified.getEncoded(), e.csr().publicKey().getEncoded());
        assertTrue(e.ekChain().size() >= 2, "the CSR comes with the EK chain up to the vendor root");

        List<byte[]> handedOut = new ArrayList<>();
        handedOut.add(h1.createEnrollmentRequest());
        handedOut.addAll(h1.identity().endorsementChain());
        handedOut.addAll(h1.identity().attestationChain());
        // a full migration: HELLO, FINISH, MANIFEST, RELEASE, tokens and the attestation record all come from a1
        int id = h1.createDomain(new DomainConfig("ak-vm", 16, 1, List.of(ProtectedProcessSpec.of("p", 64, 8)),
                WorkloadSpec.idle(5))).domId();
        h1.resume(id);
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, id).upToReady().release().resumeAtDestination();
        handedOut.add(f.source.hello().bytes());
        handedOut.add(f.manifest.bytes());
        handedOut.add(f.release.bytes());
        handedOut.add(h1.exportToken(f.source.id(), TokenKind.RELEASE));
        SignedAttestation proposal = h1.signAttestation(f.source.id(), new byte[0]);
        handedOut.add(proposal.fields());
        handedOut.add(proposal.signature());
        for (byte[] b : handedOut) {
            assertFalse(contains(b, seed), "a hypervisor answer contains the AK's private key");
        }
        h2.pause(f.dstDom());
        h2.destroyDomain(f.dstDom());
        h1.destroyDomain(id);
    }

    @Test
    void bothHypervisorsSignTheRecordAndTheCountersignerChecksItsOwnFields() throws Exception {
        int id = h1.createDomain(new DomainConfig("rec-vm", 16, 1, List.of(ProtectedProcessSpec.of("p", 64, 8)),
                WorkloadSpec.idle(5))).domId();
        h1.resume(id);
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, id).upToReady().release().resumeAtDestination();
        SignedAttestation proposal = h1.signAttestation(f.source.id(), new byte[0]);
        AttestationRecord rec = AttestationRecord.fromCanonicalBytes(proposal.fields());
        assertEquals(Outcome.COMMITTED, rec.outcome());
        PublicKey ak1 = Certificates.parse(h1.identity().attestationChain().get(0)).getPublicKey();
        PublicKey ak2 = Certificates.parse(h2.identity().attestationChain().get(0)).getPublicKey();
        assertTrue(AttestationSigner.verify(ak1, rec.signedMessage(AttestationRecord.Side.SOURCE),
                proposal.signature()));
        SignedAttestation counter = h2.countersignAttestation(f.source.id(), proposal.fields());
        assertTrue(AttestationSigner.verify(ak2, rec.signedMessage(AttestationRecord.Side.DESTINATION),
                counter.signature()));
        // a record whose outcome dom0 rewrote is refused by the countersigner
        AttestationRecord forged = AttestationRecord.builder().migrationId(rec.migrationId()).vmId(rec.vmId())
                .source(rec.source()).destination(rec.destination()).policySerial(rec.policySerial())
                .suite(rec.suite()).started(rec.started()).outcome(Outcome.ABORTED_BY_SOURCE, "DEADLINE", "forged")
                .transcriptHash(rec.transcriptHash().orElseThrow()).manifestDigest(rec.manifestDigest().orElseThrow())
                .build();
        var e = assertThrows(HypervisorException.class,
                () -> h2.countersignAttestation(f.source.id(), forged.toCanonicalBytes()));
        assertTrue(e.getMessage().contains("outcome"), e.getMessage());
        h2.pause(f.dstDom());
        h2.destroyDomain(f.dstDom());
        h1.destroyDomain(id);
    }

    @Test
    void theHypervisorTracksTheLogHeadAndSignsItWithTheVerifiersNonce() throws Exception {
        LogHead start = h1.signLogHead(new byte[32]);
        byte[] prev = start.hash();
        if (start.index() == 0) {
            assertArrayEquals(AttestationLog.genesis("a1"), prev);
        }
        byte[] entry = "a signed record".getBytes(StandardCharsets.US_ASCII);
        LogHead after = h1.appendLogEntry(start.index(), prev, entry);
        assertEquals(start.index() + 1, after.index());
        var gap = assertThrows(HypervisorException.class, () -> h1.appendLogEntry(after.index() + 1, after.hash(),
                entry));
        assertEquals(HypervisorException.Reason.REFUSED, gap.reason());
        var fork = assertThrows(HypervisorException.class, () -> h1.appendLogEntry(after.index(), prev, entry));
        assertTrue(fork.getMessage().contains("previous hash"), fork.getMessage());
        byte[] nonce = new byte[32];
        new java.security.SecureRandom().nextBytes(nonce);
        LogHead signed = h1.signLogHead(nonce);
        byte[] enc = new byte[signed.signed().length + signed.signature().length];
        System.arraycopy(signed.signed(), 0, enc, 0, signed.signed().length);
        System.arraycopy(signed.signature(), 0, enc, signed.signed().length, signed.signature().length);
        SignedHead head = SignedHead.parse(enc);
        assertEquals(after.index(), head.size());
        assertArrayEquals(after.hash(), head.headHash());
        assertArrayEquals(nonce, head.nonce());
        assertTrue(head.verifies(Certificates.parse(h1.identity().attestationChain().get(0)).getPublicKey()));
    }

    static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (hay[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
