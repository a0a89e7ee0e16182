package org.sealift.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Messages.Hello;
import org.sealift.protocol.handshake.Messages.HelloReply;
import org.sealift.protocol.handshake.TestCluster.Host;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.wire.StreamHeader;

/**
 * A dom0-held record signer (the stand-in for an AK on an unpatched Xen) presented where the handshake requires a
 * hypervisor AK. dom0 holds such a key and a genuine CA certificate for it, and the policy even accepts it for
 * records; the handshake still refuses it at both ends, with a reason that names it.
 */
class Dom0SignerInHandshakeTest {

    private static final StreamHeader SECURE = StreamHeader.secureV1();

    private final TestCluster cluster = new TestCluster();

    private static final class Dom0 {
        final KeyPair key = TestCluster.generateEd25519();
        final X509Certificate cert;

        Dom0(TestCluster c, String host) throws ProtocolException {
            cert = c.ca.issueDom0SignerCertificate(host, Dom0Signer.createCsr(AttestationSigner.of(key), host),
                    TestCluster.NOW, TestCluster.YEAR);
        }
    }

    /** Both hypervisors run with a policy that accepts dom0 signers of every host for records. */
    private Host host(String id) throws ProtocolException {
        Host h = cluster.host(id);
        h.store = cluster.store(cluster.policy(1).allowDom0Signer("*").build());
        return h;
    }

    @Test
    void dom0SignerCertificateInHelloIsRefusedByTheDestination() throws Exception {
        Host h1 = host("h1");
        Host h2 = host("h2");
        Dom0 dom0 = new Dom0(cluster, "h1");
        Initiator i = new Initiator(h1.credentials(), h1.config(), SECURE, TestCluster.VM, null);
        Responder r = new Responder(h2.credentials(), h2.config(), SECURE);
        Hello h = Hello.decode(i.hello());
        byte[] forged = new Hello(h.version(), h.suite(), h.policySerial(), h.migrationId(), h.vmId(), h.nonce(),
                h.ephemeral(), Certificates.encodeChain(List.of(dom0.cert, cluster.ca.certificate()))).encode();
        ProtocolException e = assertThrows(ProtocolException.class, () -> r.onHello(SECURE, forged));
        assertEquals(Reason.CERTIFICATE, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("CN=h1 is a dom0-held record-signing certificate")
                && e.getMessage().contains("not an attestation-key certificate"), e.getMessage());
    }

    @Test
    void dom0SignerCertificateInHelloReplyIsRefusedByTheSource() throws Exception {
        Host h1 = host("h1");
        Host h2 = host("h2");
        Dom0 dom0 = new Dom0(cluster, "h2");
        Initiator i = new Initiator(h1.credentials(), h1.config(), SECURE, TestCluster.VM, null);
        Responder r = new Responder(h2.credentials(), h2.config(), SECURE);
        HelloReply reply = HelloReply.decode(r.onHello(SECURE, i.hello()));
        byte[] core = HelloReply.encodeCore(reply.version(), reply.suite(), reply.policySerial(),
                reply.migrationId(), reply.nonce(), reply.ephemeral(),
                Certificates.encodeChain(List.of(dom0.cert, cluster.ca.certificate())));
        byte[] forged = HelloReply.encode(core, reply.signature(), reply.mac());
        ProtocolException e = assertThrows(ProtocolException.class, () -> i.onHelloReply(SECURE, forged));
        assertEquals(Reason.CERTIFICATE, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("dom0-held"), e.getMessage());
    }

    @Test
    void aHypervisorCannotBeConfiguredWithADom0SignerAsItsAk() throws Exception {
        // a host whose hypervisor has no AK cannot run the secure protocol by handing it the dom0 key instead
        Dom0 dom0 = new Dom0(cluster, "h1");
        ProtocolException e = assertThrows(ProtocolException.class, () -> new HostCredentials(
                AttestationSigner.of(dom0.key), List.of(dom0.cert, cluster.ca.certificate()),
                new byte[32]));
        assertTrue(e.reason() == Reason.UNATTESTED || e.reason() == Reason.CERTIFICATE, e.getMessage());
    }
}
