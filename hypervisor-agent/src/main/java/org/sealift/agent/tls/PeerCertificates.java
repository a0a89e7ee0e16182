package org.sealift.agent.tls;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.Set;
import java.util.stream.Collectors;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Role;

/**
 * Decides whether a peer's certificate may be used for a given purpose, and says why not in words an operator can act
 * on. The JDK's PKIX checks still run afterwards ({@link ClusterTrustManager}); this class exists because their
 * messages ("PKIX path building failed") name neither the certificate nor the fix.
 */
public final class PeerCertificates {

    private PeerCertificates() {
    }

    /**
     * The identity behind {@code leaf} if it is issued by {@code clusterCa}, valid at {@code now} and has one of the
     * {@code accepted} roles.
     *
     * @param purpose what the connection is for, in messages: "the management API", "the agent channel"
     * @throws PeerRefusedException naming the problem and the fix
     */
    public static PeerIdentity check(X509Certificate leaf, X509Certificate clusterCa, Set<Role> accepted,
            String purpose, Instant now) throws PeerRefusedException {
        String who = "certificate " + Certificates.describe(leaf);
        if (!signedBy(leaf, clusterCa)) {
            throw new PeerRefusedException(PeerRefusedException.Problem.FOREIGN_CA, who + " is issued by "
                    + leaf.getIssuerX500Principal().getName() + ", not by this cluster's CA "
                    + Certificates.describe(clusterCa) + ", so it is refused for " + purpose
                    + "; use a certificate issued by this cluster's 'sealift ca enroll'");
        }
        String validity = validityProblem(leaf, now);
        if (validity != null) {
            throw new PeerRefusedException(validity.startsWith("expired") ? PeerRefusedException.Problem.EXPIRED
                    : PeerRefusedException.Problem.NOT_YET_VALID, who + " " + validity + ", so it is refused for "
                    + purpose + "; " + renewHint(leaf));
        }
        Role role = Certificates.role(leaf).orElse(null);
        if (role == null || !accepted.contains(role)) {
            throw new PeerRefusedException(PeerRefusedException.Problem.WRONG_ROLE, who + " is "
                    + (role == null ? "not a Sealift certificate (no role extension)" : describe(role))
                    + ", but " + purpose + " accepts only " + describe(accepted) + "; " + roleHint(role, accepted));
        }
        return new PeerIdentity(role, Certificates.subjectCn(leaf), leaf);
    }

    static String describe(Set<Role> roles) {
        return roles.stream().map(PeerCertificates::describe).sorted().collect(Collectors.joining(" or "));
    }

    /** "an agent TLS certificate", "an operator certificate", ... */
    static String describe(Role role) {
        return role == Role.AGENT_TLS ? "an agent TLS certificate" : role.description();
    }

    private static String roleHint(Role presented, Set<Role> accepted) {
        if (presented == Role.ATTESTATION_KEY) {
            return "an attestation key stays inside its hypervisor and never authenticates TLS; connect with the"
                    + " agent's own TLS certificate from 'sealift ca enroll --host ID'";
        }
        if (accepted.contains(Role.AGENT_TLS) && !accepted.contains(Role.OPERATOR)) {
            return "agents connect to each other with their own TLS certificate from 'sealift ca enroll --host ID'";
        }
        if (accepted.contains(Role.OPERATOR)) {
            return "people and the console connect with an operator certificate from"
                    + " 'sealift ca enroll --operator NAME'";
        }
        return "use a certificate of the accepted kind";
    }

    /** What to run to get a fresh certificate like {@code cert}. */
    static String renewHint(X509Certificate cert) {
        Role role = Certificates.role(cert).orElse(null);
        String cn = Certificates.subjectCn(cert);
        if (role == Role.OPERATOR) {
            return "issue a new one with 'sealift ca enroll --operator " + cn + "'";
        }
        if (role == Role.AGENT_TLS) {
            return "issue a new one with 'sealift ca enroll --host " + cn + "'";
        }
        return "renew it at the cluster CA";
    }

    /** null if valid at {@code now}, else "expired at ..." or "is not valid before ...". */
    static String validityProblem(X509Certificate cert, Instant now) {
        Date d = Date.from(now);
        if (d.after(cert.getNotAfter())) {
            return "expired at " + cert.getNotAfter().toInstant();
        }
        if (d.before(cert.getNotBefore())) {
            return "is not valid before " + cert.getNotBefore().toInstant() + " (check the clocks)";
        }
        return null;
    }

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
}
