import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Pem;

/**
 * The agent TLS credentials of the two emulated Xen hosts, from a cluster CA made with {@code sealift ca init}.
 *
 * <p>Why not {@code sealift ca enroll --host}: enrolling certifies the hypervisor's attestation key from its
 * endorsed CSR, and an unpatched Xen has no attestation key and cannot make one (XenBackend refuses
 * createEnrollmentRequest). The agents still need their TLS identity for the management API and the agent channel,
 * so this test-stage tool issues only that certificate, with the CA library's own call. The hosts are then not
 * attested, which plain-mode migrations do not need; secure mode stays refused on them.
 *
 * <p>usage: XenCluster CA_DIR OUT_DIR HOST_ID... — writes OUT_DIR/HOST_ID/{agent-tls.crt, agent-tls.key,
 * cluster-trust.pem}
 */
public final class XenCluster {

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: XenCluster CA_DIR OUT_DIR HOST_ID...");
            System.exit(2);
        }
        Path caDir = Path.of(args[0]);
        ClusterCa ca = ClusterCa.load(caDir);
        Instant now = Instant.now();
        for (int i = 2; i < args.length; i++) {
            String host = args[i];
            KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            // a day before now too: the emulated hosts' clocks come from QEMU's RTC, which may lag
            X509Certificate tls = ca.issueAgentTlsCertificate(host, key.getPublic(), now.minus(Duration.ofDays(1)),
                    Duration.ofDays(3));
            Path out = Path.of(args[1], host);
            Files.createDirectories(out);
            Certificates.write(out.resolve("agent-tls.crt"), List.of(tls, ca.certificate()));
            Pem.writePrivateKey(out.resolve("agent-tls.key"), key.getPrivate());
            Files.copy(caDir.resolve("cluster-trust.pem"), out.resolve("cluster-trust.pem"));
            System.out.println("agent TLS credentials of " + host + " in " + out);
        }
    }
}
