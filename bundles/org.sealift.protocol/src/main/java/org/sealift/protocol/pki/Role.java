package org.sealift.protocol.pki;

import java.util.Optional;

/**
 * What a Sealift certificate's key may be used for. Written into every certificate the cluster CA or a vendor root
 * issues ({@link SealiftOids#ROLE}) next to a matching extended key usage, so that a key certified for one job is
 * refused for another (a dom0 TLS key presented as an attestation key, for instance).
 */
public enum Role {
    CLUSTER_CA("cluster-ca", "a cluster CA certificate"),
    POLICY_SIGNER("policy-signer", "a policy-signing certificate"),
    ATTESTATION_KEY("attestation-key", "an attestation-key certificate"),
    AGENT_TLS("agent-tls", "a TLS certificate"),
    OPERATOR("operator", "an operator certificate"),
    VENDOR_ROOT("vendor-root", "a vendor root certificate"),
    ENDORSEMENT_KEY("endorsement-key", "an endorsement-key certificate"),
    DOM0_SIGNER("dom0-signer", "a dom0-held record-signing certificate (its key is kept by dom0, not protected by a"
            + " hypervisor)");

    private final String label;
    private final String description;

    Role(String label, String description) {
        this.label = label;
        this.description = description;
    }

    /** The string stored in the role extension. */
    public String label() {
        return label;
    }

    /** For messages: "a TLS certificate". */
    public String description() {
        return description;
    }

    public static Optional<Role> ofLabel(String label) {
        for (Role r : values()) {
            if (r.label.equals(label)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
