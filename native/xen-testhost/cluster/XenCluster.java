import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.sealift.agent.xen.XenBackend;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.SignedPolicy;

/**
 * The credentials of the two emulated Xen hosts' agents, from a cluster CA made with {@code sealift ca init}: each
 * agent's TLS certificate and key, and its <em>dom0-held record signer</em>, the stand-in for an attestation key on
 * an unpatched Xen (docs/protocol-attestation.md §2.2).
 *
 * <p>The dom0 signer's key and request are made with the agent's own code ({@link XenBackend#dom0SignerRequest},
 * what {@code sealift agent --enrollment-request} runs on a Xen host) into a data directory that the payload carries
 * to the host, and the CA certifies the request as {@code sealift ca enroll --host ID --dom0-signer} does
 * ({@link ClusterCa#issueDom0SignerCertificate}). It is done here, on the machine that builds the payload, because
 * the CA's keys stay here and the hosts boot only once. The policy then accepts dom0 signers of hosts {@code x*}
 * explicitly. Certificates and policy start a day before now: the emulated hosts' clocks come from QEMU's RTC, which
 * may lag. The CLI path of the same steps is tested in XenAgentsMigrateTest.
 *
 * <p>usage: XenCluster CA_DIR OUT_DIR HOST_ID... — writes OUT_DIR/HOST_ID/{agent-tls.crt, agent-tls.key,
 * cluster-trust.pem, dom0-signer.crt, dom0-signers.pem, policy.pem}, OUT_DIR/HOST_ID-data/dom0-signer/ (the agent's
 * key, owner-only) and CA_DIR/{policy.pem, dom0-signers.pem}
 */
public final class XenCluster {

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: XenCluster CA_DIR OUT_DIR HOST_ID...");
            System.exit(2);
        }
        Path caDir = Path.of(args[0]);
        ClusterCa ca = ClusterCa.load(caDir);
        Instant from = Instant.now().minus(Duration.ofDays(1));
        List<X509Certificate> signers = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String host = args[i];
            KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            X509Certificate tls = ca.issueAgentTlsCertificate(host, key.getPublic(), from, Duration.ofDays(3));
            Path out = Path.of(args[1], host);
            Files.createDirectories(out);
            Certificates.write(out.resolve("agent-tls.crt"), List.of(tls, ca.certificate()));
            Pem.writePrivateKey(out.resolve("agent-tls.key"), key.getPrivate());
            Files.copy(caDir.resolve("cluster-trust.pem"), out.resolve("cluster-trust.pem"));
            byte[] request = XenBackend.dom0SignerRequest(host, Path.of(args[1], host + "-data"));
            byte[] csr = Pem.decode(new String(request, java.nio.charset.StandardCharsets.US_ASCII)).get(0).content();
            X509Certificate signer = ca.issueDom0SignerCertificate(host, csr, from, Duration.ofDays(3));
            Certificates.write(out.resolve("dom0-signer.crt"), List.of(signer, ca.certificate()));
            signers.add(signer);
            System.out.println("credentials of " + host + " in " + out + ", its dom0 signer "
                    + Certificates.describe(signer));
        }
        Certificates.write(caDir.resolve("dom0-signers.pem"), signers);
        Policy current = SignedPolicy.load(caDir.resolve("policy.pem")).verify(ca.trust());
        SignedPolicy next = ca.signPolicy(current.toBuilder().serial(current.serial() + 1)
                .validity(from, from.plus(Duration.ofDays(3))).allowDom0Signer("x*").build());
        next.save(caDir.resolve("policy.pem"));
        for (int i = 2; i < args.length; i++) {
            Path out = Path.of(args[1], args[i]);
            Files.copy(caDir.resolve("dom0-signers.pem"), out.resolve("dom0-signers.pem"));
            next.save(out.resolve("policy.pem"));
        }
    }
}
