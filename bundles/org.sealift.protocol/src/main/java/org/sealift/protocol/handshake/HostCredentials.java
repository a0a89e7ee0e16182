package org.sealift.protocol.handshake;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;

/**
 * The local hypervisor's side of attestation: its AK (as a signing interface, the key stays in the hypervisor), the
 * AK certificate chain the cluster CA issued for it (leaf first) and the measurement the hypervisor computed of
 * itself at start. The measurement is signed into the handshake and must equal the one the CA bound into the
 * certificate, so a hypervisor whose build changed since enrollment is caught here, before it talks to anyone.
 */
public final class HostCredentials {

    private final AttestationSigner signer;
    private final List<X509Certificate> chain;
    private final List<byte[]> encodedChain;
    private final byte[] measurement;
    private final String hostId;

    /**
     * @throws ProtocolException UNATTESTED if the chain is empty, its leaf does not certify {@code signer}'s key, or
     *         carries another measurement than {@code measurement}
     */
    public HostCredentials(AttestationSigner signer, List<X509Certificate> akChain, byte[] measurement)
            throws ProtocolException {
        this.signer = Objects.requireNonNull(signer, "signer");
        this.chain = List.copyOf(Objects.requireNonNull(akChain, "akChain"));
        this.measurement = Objects.requireNonNull(measurement, "measurement").clone();
        if (chain.isEmpty()) {
            throw new ProtocolException(Reason.UNATTESTED,
                    "this hypervisor has no AK certificate: enroll its attestation key with the cluster CA first");
        }
        X509Certificate leaf = chain.get(0);
        this.hostId = Certificates.subjectCn(leaf);
        if (!MessageDigest.isEqual(leaf.getPublicKey().getEncoded(), signer.publicKey().getEncoded())) {
            throw new ProtocolException(Reason.UNATTESTED, "AK certificate " + Certificates.describe(leaf)
                    + " certifies key " + Hex.abbrev(Certificates.fingerprint(leaf)) + ", not this hypervisor's"
                    + " attestation key " + Hex.abbrev(Certificates.fingerprint(signer.publicKey()))
                    + ": install the certificate issued for this hypervisor's AK");
        }
        byte[] certified = Certificates.measurement(leaf).orElse(null);
        if (certified == null || !MessageDigest.isEqual(certified, this.measurement)) {
            throw new ProtocolException(Reason.UNATTESTED, "this hypervisor measures "
                    + Hex.abbrev(this.measurement) + " but its AK certificate " + Certificates.describe(leaf)
                    + " binds " + (certified == null ? "no measurement" : Hex.abbrev(certified))
                    + ": the hypervisor changed since enrollment; re-enroll its AK");
        }
        this.encodedChain = Certificates.encodeChain(chain);
    }

    public AttestationSigner signer() {
        return signer;
    }

    /** Leaf first. */
    public List<X509Certificate> chain() {
        return chain;
    }

    List<byte[]> encodedChain() {
        return encodedChain;
    }

    public byte[] measurement() {
        return measurement.clone();
    }

    /** The host id from the AK certificate's CN. */
    public String hostId() {
        return hostId;
    }
}
