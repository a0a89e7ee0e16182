package org.sealift.protocol.handshake;

/** Which end of a migration a hypervisor is. The wire value appears in signed token bytes and must stay stable. */
public enum Role {
    /** The host the VM leaves; it sends HELLO and FINISH and signs RELEASE and ABORT_BY_SOURCE. */
    SOURCE(1),
    /** The host the VM moves to; it sends HELLO_REPLY and signs READY, DONE and ABORT_BY_DESTINATION. */
    DESTINATION(2);

    private final int wire;

    Role(int wire) {
        this.wire = wire;
    }

    /** The one-byte value used in signed messages. */
    public int wire() {
        return wire;
    }

    public Role peer() {
        return this == SOURCE ? DESTINATION : SOURCE;
    }

    /** The role for a wire value, or null if there is none. */
    public static Role fromWire(int value) {
        for (Role r : values()) {
            if (r.wire == value) {
                return r;
            }
        }
        return null;
    }
}
