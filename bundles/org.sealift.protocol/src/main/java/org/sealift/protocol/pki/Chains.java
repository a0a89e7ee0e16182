package org.sealift.protocol.pki;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;

/** Small certificate-chain facts, all without throwing. */
final class Chains {

    private Chains() {
    }

    /** Issuer name matches and the signature verifies with the issuer's key. */
    static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    static boolean sameCertificate(X509Certificate a, X509Certificate b) {
        return Arrays.equals(Certificates.encode(a), Certificates.encode(b));
    }

    /** null if valid at {@code now}, else "expired at ..." / "not valid before ...". */
    static String validityProblem(X509Certificate cert, Instant now) {
        Date d = Date.from(now);
        if (d.after(cert.getNotAfter())) {
            return "expired at " + cert.getNotAfter().toInstant();
        }
        if (d.before(cert.getNotBefore())) {
            return "not valid before " + cert.getNotBefore().toInstant();
        }
        return null;
    }

    static boolean isCa(X509Certificate cert) {
        return cert.getBasicConstraints() >= 0;
    }
}
