package org.sealift.protocol.attest;

/** Attacks and faults the hypervisors detected and survived during a migration. Wire values are stable. */
public enum AnomalyKind {
    /** A page or record from an earlier round, migration, VM or process (dropped). */
    REPLAY(1),
    /** A tag, signature or MAC that did not verify. */
    TAMPER(2),
    /** Control records out of order or with a gap. */
    REORDER(3),
    /** A well-formed record not allowed in the current state. */
    UNEXPECTED_RECORD(4),
    /** A deadline passed. */
    DEADLINE(5);

    private final int wire;

    AnomalyKind(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    static AnomalyKind fromWire(int v) {
        for (AnomalyKind k : values()) {
            if (k.wire == v) {
                return k;
            }
        }
        return null;
    }
}
