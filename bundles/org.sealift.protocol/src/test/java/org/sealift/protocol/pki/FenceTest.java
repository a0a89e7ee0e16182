package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class FenceTest {

    private final TestPki pki = new TestPki();
    private final byte[] mid = TestPki.measurement(0x3f).clone();
    private final byte[] migrationId = Arrays.copyOf(mid, 16);
    private final byte[] digest = TestPki.measurement(0x4d);

    @Test
    void fenceVerifiesOfflineFromAFileAndComesWithAPolicyRevokingTheLostAk(@TempDir Path dir) throws Exception {
        TestPki.Host lost = pki.host("h1");
        FenceBundle fb = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW));
        Path file = dir.resolve("fence-3f3f.pem");
        fb.save(file);
        assertTrue(Files.readString(file).contains("TRUSTED OVERRIDE"));
        FenceBundle back = FenceBundle.load(file);
        ClusterTrust offline = ClusterTrust.fromPem(pki.ca.trust().toPem());
        Policy next = back.verify(offline);
        back.fence().verifyFor(offline, migrationId, digest, lost.fingerprint());
        assertEquals(2, next.serial());
        assertTrue(next.isRevoked(lost.fingerprint()));
        assertArrayEquals(fb.fence().encoded(), back.fence().encoded());
        assertEquals(Fence.ENCODED_BYTES, back.fence().encoded().length);
    }

    @Test
    void fenceForAnotherMigrationIdDoesNotApply() throws Exception {
        TestPki.Host lost = pki.host("h1");
        Fence f = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW)).fence();
        byte[] other = migrationId.clone();
        other[0] ^= 1;
        var e = assertThrows(ProtocolException.class,
                () -> f.verifyFor(pki.ca.trust(), other, digest, lost.fingerprint()));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("fence is for migration " + Hex.encode(migrationId) + ", not migration "
                + Hex.encode(other)), e.getMessage());
    }

    @Test
    void fenceForAnotherManifestDigestDoesNotApply() throws Exception {
        TestPki.Host lost = pki.host("h1");
        Fence f = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW)).fence();
        var e = assertThrows(ProtocolException.class,
                () -> f.verifyFor(pki.ca.trust(), migrationId, TestPki.measurement(0x4e), lost.fingerprint()));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("names manifest digest 4d4d4d4d\u2026, but this copy's manifest digest is"
                + " 4e4e4e4e\u2026"), e.getMessage());
    }

    @Test
    void fenceNamingAnotherAkDoesNotApply() throws Exception {
        TestPki.Host lost = pki.host("h1");
        TestPki.Host peer = pki.host("h2");
        Fence f = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW)).fence();
        var e = assertThrows(ProtocolException.class,
                () -> f.verifyFor(pki.ca.trust(), migrationId, digest, peer.fingerprint()));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("but the peer of this migration has AK"), e.getMessage());
    }

    @Test
    void fenceWithAlteredFieldsOrForgedByAnotherClusterFailsItsSignature() throws Exception {
        TestPki.Host lost = pki.host("h1");
        byte[] enc = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW))
                .fence().encoded();
        enc[12] ^= 1; // inside the migration id: dom0 retargets the fence to another migration
        Fence altered = Fence.parse(enc);
        var e = assertThrows(ProtocolException.class, () -> altered.verify(pki.ca.trust()));
        assertEquals(Reason.TAMPERED, e.reason());
        TestPki other = new TestPki();
        Fence foreign = other.ca.issueFence(migrationId, digest, lost.fingerprint(), other.store.current(TestPki.NOW))
                .fence();
        assertEquals(Reason.TAMPERED,
                assertThrows(ProtocolException.class, () -> foreign.verify(pki.ca.trust())).reason());
    }

    @Test
    void fenceBundledWithAPolicyThatDoesNotRevokeTheAkIsRefused() throws Exception {
        TestPki.Host lost = pki.host("h1");
        FenceBundle real = pki.ca.issueFence(migrationId, digest, lost.fingerprint(), pki.store.current(TestPki.NOW));
        // dom0 swaps in a genuine, newer policy that happens not to revoke the AK
        FenceBundle swapped = new FenceBundle(real.fence(), pki.ca.signPolicy(pki.basePolicy(2).build()));
        var e = assertThrows(ProtocolException.class, () -> swapped.verify(pki.ca.trust()));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("does not revoke the fenced AK"), e.getMessage());
    }
}
