package org.sealift.protocol.pki;

import java.security.PublicKey;

import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/** Plain PKCS#10 requests (agent TLS, operator): proof of possession, then the key. */
final class Csrs {

    private Csrs() {
    }

    static PublicKey verifiedPublicKey(byte[] der, String what) throws ProtocolException {
        if (der.length > AkCsr.MAX_CSR_BYTES) {
            throw new ProtocolException(Reason.MALFORMED, what + " is " + der.length + " bytes, limit "
                    + AkCsr.MAX_CSR_BYTES);
        }
        JcaPKCS10CertificationRequest req;
        PublicKey key;
        try {
            req = new JcaPKCS10CertificationRequest(der);
            key = req.getPublicKey();
        } catch (Exception e) {
            throw new ProtocolException(Reason.MALFORMED, what + " is not a valid PKCS#10 request: " + e.getMessage(),
                    e);
        }
        boolean valid;
        try {
            valid = req.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
        } catch (Exception e) {
            throw new ProtocolException(Reason.MALFORMED, what + " has a signature that cannot be checked: "
                    + e.getMessage(), e);
        }
        if (!valid) {
            throw new ProtocolException(Reason.TAMPERED, what
                    + " is not signed by the key it asks to certify (proof of possession failed)");
        }
        return key;
    }
}
