package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * What a hypervisor hands the cluster CA to get an AK certificate: the AK CSR, the host's endorsement-key certificate
 * chain (EK certificate first), and the EK signature over the CSR, {@code Ed25519(EK, "SMP1/AK-ENDORSEMENT" ‖ CSR
 * DER)}. The file form is PEM: one CERTIFICATE REQUEST, one SEALIFT EK SIGNATURE, then the chain as CERTIFICATE
 * blocks. dom0 carries this file to the CA but cannot forge it: it holds neither the AK nor the EK.
 */
public final class AkEnrollment {

    public static final String EK_SIGNATURE = "SEALIFT EK SIGNATURE";

    private final AkCsr csr;
    private final List<X509Certificate> ekChain;
    private final byte[] ekSignature;

    public AkEnrollment(AkCsr csr, List<X509Certificate> ekChain, byte[] ekSignature) {
        this.csr = csr;
        this.ekChain = List.copyOf(ekChain);
        this.ekSignature = ekSignature.clone();
    }

    public AkCsr csr() {
        return csr;
    }

    public List<X509Certificate> ekChain() {
        return ekChain;
    }

    public byte[] ekSignature() {
        return ekSignature.clone();
    }

    public String toPem() {
        List<Pem.Block> blocks = new ArrayList<>();
        blocks.add(new Pem.Block(Pem.CERTIFICATE_REQUEST, csr.encoded()));
        blocks.add(new Pem.Block(EK_SIGNATURE, ekSignature));
        for (X509Certificate c : ekChain) {
            blocks.add(new Pem.Block(Pem.CERTIFICATE, Certificates.encode(c)));
        }
        return Pem.encode(blocks);
    }

    public static AkEnrollment fromPem(String text) throws ProtocolException {
        List<Pem.Block> blocks;
        try {
            blocks = Pem.decode(text);
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "AK enrollment: " + e.getMessage(), e);
        }
        AkCsr csr = null;
        byte[] sig = null;
        List<X509Certificate> chain = new ArrayList<>();
        for (Pem.Block b : blocks) {
            switch (b.type()) {
                case Pem.CERTIFICATE_REQUEST -> {
                    if (csr != null) {
                        throw new ProtocolException(Reason.MALFORMED, "AK enrollment holds more than one CSR");
                    }
                    csr = AkCsr.parse(b.content());
                }
                case EK_SIGNATURE -> {
                    if (sig != null) {
                        throw new ProtocolException(Reason.MALFORMED, "AK enrollment holds more than one EK signature");
                    }
                    sig = b.content();
                }
                case Pem.CERTIFICATE -> {
                    if (chain.size() == Certificates.MAX_CHAIN_LENGTH) {
                        throw new ProtocolException(Reason.MALFORMED,
                                "AK enrollment chain is longer than " + Certificates.MAX_CHAIN_LENGTH);
                    }
                    chain.add(Certificates.parse(b.content()));
                }
                default -> throw new ProtocolException(Reason.MALFORMED,
                        "AK enrollment holds an unexpected PEM block \"" + b.type() + "\"");
            }
        }
        if (csr == null) {
            throw new ProtocolException(Reason.MALFORMED, "AK enrollment holds no CERTIFICATE REQUEST");
        }
        return new AkEnrollment(csr, chain, sig == null ? new byte[0] : sig);
    }

    public void save(Path file) throws IOException {
        Pem.write(file, Pem.decode(toPem()));
    }

    public static AkEnrollment load(Path file) throws IOException, ProtocolException {
        return fromPem(Files.readString(file, StandardCharsets.US_ASCII));
    }
}
