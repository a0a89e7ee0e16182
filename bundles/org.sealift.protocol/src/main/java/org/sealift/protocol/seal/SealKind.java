package org.sealift.protocol.seal;

/**
 * What a SEALED record carries (docs/protocol.md §4.2). Each kind has its own nonce prefix, so a page and a vCPU
 * context can never share a nonce even if a counter were reused.
 */
public enum SealKind {
    /** A protected page of 4096 octets; the target is its pfn. */
    PAGE(1, 0x50414745),
    /** A protected process's saved vCPU context; the target is the vCPU id. */
    VCPU(2, 0x56435055);

    private final int wire;
    private final int noncePrefix;

    SealKind(int wire, int noncePrefix) {
        this.wire = wire;
        this.noncePrefix = noncePrefix;
    }

    /** The kind octet on the wire and in the AAD. */
    public int wire() {
        return wire;
    }

    /** First four nonce octets ("PAGE" or "VCPU" in ASCII). */
    public int noncePrefix() {
        return noncePrefix;
    }

    /** The kind for a wire value, or null. */
    public static SealKind fromWire(int value) {
        for (SealKind k : values()) {
            if (k.wire == value) {
                return k;
            }
        }
        return null;
    }
}
