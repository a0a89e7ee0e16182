package org.sealift.protocol.attest;

/** How a migration ended. The wire values are in signed record bytes and must stay stable. */
public enum Outcome {
    /** RELEASE issued and the destination resumed: the VM runs at the destination. */
    COMMITTED(1),
    /** The source aborted before RELEASE and resumed locally. */
    ABORTED_BY_SOURCE(2),
    /** The destination issued ABORT (before resuming) and zeroized its copy. */
    ABORTED_BY_DESTINATION(3),
    /** The handshake or policy refused the migration; nothing was transferred. May carry one signature. */
    REJECTED(4);

    private final int wire;

    Outcome(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    static Outcome fromWire(int v) {
        for (Outcome o : values()) {
            if (o.wire == v) {
                return o;
            }
        }
        return null;
    }
}
