package org.sealift.agent.spi;

import java.util.Objects;

/**
 * A handshake or control record made by the hypervisor, opaque to the agent: {@code bytes} is one complete record as
 * docs/protocol.md frames it (header included), to be written to the stream unchanged. The agent may read the public
 * header; it cannot open or forge the body (handshake records are signed, control records are AEAD under session keys
 * the agent never sees).
 */
public final class ProtocolMessage {

    /** What a message is, for the engine's state machine and logs. */
    public enum Kind {
        HELLO, HELLO_REPLY, FINISH, MANIFEST, READY, RELEASE, DONE, ABORT_BY_SOURCE, ABORT_BY_DESTINATION
    }

    private final Kind kind;
    private final byte[] bytes;

    public ProtocolMessage(Kind kind, byte[] bytes) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.bytes = Objects.requireNonNull(bytes, "bytes").clone();
    }

    public Kind kind() {
        return kind;
    }

    /** The complete record (a copy). */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    @Override
    public String toString() {
        return kind + " (" + bytes.length + " bytes)";
    }
}
