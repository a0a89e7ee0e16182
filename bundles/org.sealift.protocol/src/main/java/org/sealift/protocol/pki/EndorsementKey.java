package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A host's endorsement key (the role of a TPM EK) with its certificate chain from the vendor. In the simulated backend
 * it lives in the hypervisor process, never in dom0: the only thing it does is endorse the hypervisor's own AK CSR.
 */
public final class EndorsementKey {

    public static final String CHAIN_FILE = "ek-chain.crt";
    public static final String KEY_FILE = "ek.key";

    /** Domain separation for the EK signature over an AK CSR (docs/protocol-attestation.md, "AK enrollment"). */
    static final byte[] ENDORSEMENT_CONTEXT = CanonicalWriter.ascii("SMP1/AK-ENDORSEMENT");

    private final PrivateKey key;
    private final List<X509Certificate> chain;

    EndorsementKey(PrivateKey key, List<X509Certificate> chain) {
        this.key = key;
        this.chain = List.copyOf(chain);
    }

    /** EK certificate first, then the vendor chain. */
    public List<X509Certificate> chain() {
        return chain;
    }

    public String hostId() {
        return Certificates.subjectCn(chain.get(0));
    }

    /** Endorses an AK CSR: Ed25519(EK, "SMP1/AK-ENDORSEMENT" ‖ DER of the CSR). */
    public AkEnrollment endorse(AkCsr csr) {
        byte[] signature = Ed25519.sign(key, endorsementMessage(csr.encoded()));
        return new AkEnrollment(csr, chain, signature);
    }

    static byte[] endorsementMessage(byte[] csrDer) {
        return new CanonicalWriter().raw(ENDORSEMENT_CONTEXT).raw(csrDer).toByteArray();
    }

    public void save(Path dir) throws IOException {
        Certificates.write(dir.resolve(CHAIN_FILE), chain);
        Pem.writePrivateKey(dir.resolve(KEY_FILE), key);
    }

    public static EndorsementKey load(Path dir) throws IOException {
        return new EndorsementKey(Pem.readPrivateKey(dir.resolve(KEY_FILE)),
                Certificates.read(dir.resolve(CHAIN_FILE)));
    }
}
