package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.protocol.AttestationSigner;

class ClusterCaFilesTest {

    private final TestPki pki = new TestPki();

    @Test
    void caSavesPrivateKeysOwnerOnlyAndLoadsBackIntoAWorkingCa(@TempDir Path dir) throws Exception {
        pki.ca.save(dir);
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(ClusterCa.CA_KEY_FILE))));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(ClusterCa.POLICY_KEY_FILE))));
        ClusterCa loaded = ClusterCa.load(dir);
        assertArrayEquals(pki.ca.certificate().getEncoded(), loaded.certificate().getEncoded());
        assertEquals(1, loaded.vendorRoots().size());
        // the loaded CA still refuses unendorsed CSRs and issues endorsed ones that the original trust accepts
        TestPki.Host h = pki.host("h1");
        var cert = loaded.issueAkCertificate(
                h.ek.endorse(AkCsr.create(h.ak, "h1", pki.goodMeasurement)), TestPki.NOW, TestPki.YEAR);
        new AkValidator(ClusterTrust.load(dir.resolve(ClusterTrust.TRUST_FILE)))
                .validate(java.util.List.of(cert), pki.store, TestPki.NOW);
        // and a policy signed by the loaded policy key verifies against the saved trust file
        loaded.signPolicy(pki.basePolicy(2).build()).verify(pki.ca.trust());
    }

    @Test
    void privateKeyReadableByOthersIsRefusedOnLoad(@TempDir Path dir) throws Exception {
        pki.ca.save(dir);
        Files.setPosixFilePermissions(dir.resolve(ClusterCa.CA_KEY_FILE), PosixFilePermissions.fromString("rw-r--r--"));
        var e = assertThrows(IOException.class, () -> ClusterCa.load(dir));
        assertTrue(e.getMessage().contains("is accessible to others (rw-r--r--); run chmod 600"), e.getMessage());
    }

    @Test
    void swappedKeyFilesAreDetected(@TempDir Path dir) throws Exception {
        pki.ca.save(dir);
        Files.copy(dir.resolve(ClusterCa.POLICY_KEY_FILE), dir.resolve(ClusterCa.CA_KEY_FILE),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var e = assertThrows(IOException.class, () -> ClusterCa.load(dir));
        assertTrue(e.getMessage().contains("does not belong to the certificate next to it"), e.getMessage());
    }

    @Test
    void vendorRootAndEndorsementKeyPersistApartFromTheCa(@TempDir Path dir) throws Exception {
        pki.vendor.save(dir.resolve("vendor"));
        VendorRoot vendor = VendorRoot.load(dir.resolve("vendor"));
        EndorsementKey ek = vendor.manufacture("h7", TestPki.NOW, TestPki.YEAR);
        ek.save(dir.resolve("hv-h7"));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("hv-h7").resolve(EndorsementKey.KEY_FILE))));
        EndorsementKey back = EndorsementKey.load(dir.resolve("hv-h7"));
        assertEquals("h7", back.hostId());
        AttestationSigner ak = AttestationSigner.of(Ed25519.generate());
        var cert = pki.ca.issueAkCertificate(back.endorse(AkCsr.create(ak, "h7", pki.goodMeasurement)), TestPki.NOW,
                TestPki.YEAR);
        assertEquals("h7", Certificates.subjectCn(cert));
    }
}
