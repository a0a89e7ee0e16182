package org.sealift.agent.tls;

import java.security.cert.CertificateException;

/**
 * A peer's certificate is refused. It is a {@link CertificateException} so that JSSE aborts the handshake with it;
 * the message names the certificate, the problem and the fix, and is logged by the side that refuses.
 */
public final class PeerRefusedException extends CertificateException {

    private static final long serialVersionUID = 1L;

    /** Why, for callers that act on the kind (tests, API error codes). */
    public enum Problem {
        NO_CERTIFICATE, FOREIGN_CA, EXPIRED, NOT_YET_VALID, WRONG_ROLE, WRONG_HOST, INVALID
    }

    private final Problem problem;

    public PeerRefusedException(Problem problem, String message) {
        super(message);
        this.problem = problem;
    }

    public PeerRefusedException(Problem problem, String message, Throwable cause) {
        super(message, cause);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
