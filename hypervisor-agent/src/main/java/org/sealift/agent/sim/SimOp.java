package org.sealift.agent.sim;

/** Calls on the simulated hypervisor's privileged socket. Codes are positional: append, never reorder. */
public enum SimOp {
    STATUS,
    SHUTDOWN,
    IDENTITY,
    CREATE_ENROLLMENT,
    INSTALL_AK_CHAIN,
    INSTALL_TRUST,
    INSTALL_POLICY,
    CREATE_DOMAIN,
    DESTROY_DOMAIN,
    LIST_DOMAINS,
    DOMAIN_INFO,
    DOMAIN_BY_NAME,
    PAUSE,
    RESUME,
    DIRTY_ENABLE,
    DIRTY_DISABLE,
    DIRTY_READ,
    MAP_INFO,
    PROTECTED_PAGES,
    VCPU_GET,
    VCPU_SET,
    EXPORT_METADATA,
    PLAIN_BEGIN,
    PLAIN_FINISH,
    SRC_BEGIN,
    SRC_HELLO,
    SRC_HELLO_REPLY,
    SRC_SEAL_PAGES,
    SRC_SEAL_VCPUS,
    SRC_MANIFEST,
    SRC_RELEASE,
    SRC_DONE,
    SRC_ABORT,
    SRC_ACCEPT_ABORT,
    DST_OPEN,
    DST_HELLO,
    DST_FINISH,
    DST_ACCEPT_SEALED,
    DST_MANIFEST,
    DST_RELEASE,
    DST_ABORT,
    DST_ACCEPT_ABORT,
    SESSION_INFO,
    SESSION_LOOKUP,
    DECISIONS,
    EXPORT_TOKEN,
    IMPORT_TOKEN,
    IMPORT_FENCE,
    SIGN_ATTESTATION,
    LOG_APPEND,
    LOG_SIGN_HEAD,
    PROTECTED_DIGEST,
    COUNTERSIGN_ATTESTATION;

    private static final SimOp[] VALUES = values();

    public static SimOp of(int code) {
        return code >= 0 && code < VALUES.length ? VALUES[code] : null;
    }
}
