package org.sealift.protocol.token;

import java.nio.charset.StandardCharsets;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;

/**
 * The commit decisions a hypervisor signs. Each kind has one signer role; wire values and names are part of signed
 * bytes and files and must stay stable.
 */
public enum TokenKind {
    /** Destination: every protected page and context verified against the MANIFEST. */
    READY(1, Role.DESTINATION),
    /** Source: the start token; the source will not run the VM again unless it holds ABORT_BY_DESTINATION. */
    RELEASE(2, Role.SOURCE),
    /** Destination: resumed after a valid RELEASE. */
    DONE(3, Role.DESTINATION),
    /** Source: aborted before RELEASE; it resumes locally. */
    ABORT_BY_SOURCE(4, Role.SOURCE),
    /** Destination: aborted and zeroized; it will never resume this migration. */
    ABORT_BY_DESTINATION(5, Role.DESTINATION);

    private final int wire;
    private final Role signer;

    TokenKind(int wire, Role signer) {
        this.wire = wire;
        this.signer = signer;
    }

    public int wire() {
        return wire;
    }

    /** The role of the hypervisor that signs this kind. */
    public Role signer() {
        return signer;
    }

    /** The control record that carries this kind (docs/protocol.md §3); both ABORT kinds travel as ABORT. */
    public RecordType recordType() {
        return switch (this) {
            case READY -> RecordType.READY;
            case RELEASE -> RecordType.RELEASE;
            case DONE -> RecordType.DONE;
            case ABORT_BY_SOURCE, ABORT_BY_DESTINATION -> RecordType.ABORT;
        };
    }

    /** Whether the token may be issued before a MANIFEST exists (manifest digest all zeros). */
    public boolean allowsNoManifest() {
        return this == ABORT_BY_SOURCE || this == ABORT_BY_DESTINATION;
    }

    /** ASCII "SMP1/" + name: the domain-separation label at the start of the signed message. */
    byte[] label() {
        return ("SMP1/" + name()).getBytes(StandardCharsets.US_ASCII);
    }

    /** The kind for a wire value, or null. */
    public static TokenKind fromWire(int value) {
        for (TokenKind k : values()) {
            if (k.wire == value) {
                return k;
            }
        }
        return null;
    }
}
