package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.hypervisor.sim.SimHypervisor;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.Role;

/**
 * A simulated hypervisor (whose AK must be a hypervisor AK) handed a dom0-signer certificate as its AK certificate.
 * The CA tooling would never issue one for a hypervisor's AK (the request must declare a dom0-held key, and only
 * the AK can sign a request for itself), so the test plays a CA that did: it issues dom0-signer-profile
 * certificates for the sim's own AK public key, without and even with its measurement. The hypervisor refuses
 * both: a dom0 signer cannot become a sim host's AK.
 */
class Dom0SignerIsNoAkOnASimHostTest {

    @TempDir
    Path dir;
    private SimHypervisor hv;

    @AfterEach
    void shutdown() {
        if (hv != null) {
            hv.close();
        }
    }

    /** CertIssuer.issue of the protocol library, reached around its package boundary: a CA that misissues. */
    private static X509Certificate misissue(ClusterCa ca, PrivateKey caKey, String host, PublicKey key,
            byte[] measurement) throws Exception {
        Class<?> issuer = Class.forName("org.sealift.protocol.pki.CertIssuer");
        Method issue = issuer.getDeclaredMethod("issue", X500Name.class, PrivateKey.class, X500Name.class,
                PublicKey.class, Instant.class, Instant.class, Role.class, GeneralNames.class, byte[].class);
        Method name = issuer.getDeclaredMethod("name", String.class, String.class);
        issue.setAccessible(true);
        name.setAccessible(true);
        X500Name caName = X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
        return (X509Certificate) issue.invoke(null, caName, caKey, name.invoke(null, host, null), key,
                Instant.now().minusSeconds(60), Instant.now().plus(Duration.ofDays(1)), Role.DOM0_SIGNER, null,
                measurement);
    }

    @Test
    void aDom0SignerCertificateForTheHypervisorsOwnAkIsRefused() throws Exception {
        hv = SimHypervisor.boot("s1", dir.resolve("state"), dir.resolve("hw"), dir.resolve("mem"),
                Optional.of(dir.resolve("vendor")), false);
        ClusterCa ca = ClusterCa.create("sim-cluster", Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(30));
        ca.save(dir.resolve("ca"));
        PrivateKey caKey = Pem.readPrivateKey(dir.resolve("ca").resolve(ClusterCa.CA_KEY_FILE));
        hv.installClusterTrust(ca.trust().toPem().getBytes(StandardCharsets.US_ASCII));
        AkEnrollment request = AkEnrollment.fromPem(new String(hv.createEnrollmentRequest(),
                StandardCharsets.US_ASCII));
        PublicKey ak = request.csr().publicKey();
        byte[] measurement = hv.identity().measurement();

        X509Certificate plain = misissue(ca, caKey, "s1", ak, null);
        assertTrue(Dom0Signer.isDom0Signer(plain));
        HypervisorException noMeasurement = assertThrows(HypervisorException.class,
                () -> hv.installAttestationCertificate(Certificates.encodeChain(List.of(plain, ca.certificate()))));
        assertTrue(noMeasurement.getMessage().contains("binds no measurement"), noMeasurement.getMessage());

        // even with the right key and the hypervisor's own measurement, the role is not an attestation key's
        X509Certificate measured = misissue(ca, caKey, "s1", ak, measurement);
        HypervisorException role = assertThrows(HypervisorException.class,
                () -> hv.installAttestationCertificate(Certificates.encodeChain(List.of(measured, ca.certificate()))));
        assertTrue(role.getMessage().contains("dom0-held record-signing certificate")
                && role.getMessage().contains("not an attestation-key certificate"), role.getMessage());
        assertFalse(hv.identity().enrolled(), "nothing was installed");

        // the genuine path still works: the CA certifies the endorsed AK request, and the hypervisor takes it
        ca.trustVendorRoot(Certificates.read(dir.resolve("vendor").resolve("vendor-root.crt")).get(0));
        X509Certificate good = ca.issueAkCertificate(request, Instant.now(), Duration.ofDays(1));
        hv.installAttestationCertificate(Certificates.encodeChain(List.of(good, ca.certificate())));
        assertEquals(2, hv.identity().attestationChain().size());
    }
}
