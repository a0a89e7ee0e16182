package org.sealift.protocol.control;

import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;

/**
 * The ordering rules of one inbound stream (docs/protocol.md §8): which record may come next, and whether the stream
 * may end here. A receiver calls {@link #accept} for every decoded record (END included) and {@link #endOfInput}
 * when the channel closes. It knows nothing about keys: it catches records out of place and streams cut short, for
 * example a source stream that ends without its MANIFEST.
 */
public final class StreamRules {

    private enum Phase {
        /** S→D secure: HELLO next. */
        HELLO,
        /** S→D secure: FINISH next. */
        FINISH,
        /** S→D: page and context records, then MANIFEST (secure) or END (plain). */
        DATA,
        /** S→D secure: MANIFEST sent, RELEASE or ABORT next. */
        AFTER_MANIFEST,
        /** D→S secure: HELLO_REPLY next. */
        HELLO_REPLY,
        /** D→S secure: READY or ABORT next. */
        VERDICT,
        /** D→S secure: READY sent, DONE or ABORT next. */
        AFTER_READY,
        /** Everything required has arrived; only END may follow. */
        COMPLETE,
        /** END seen. */
        ENDED
    }

    private final Role sender;
    private final boolean secure;
    private Phase phase;

    private StreamRules(Role sender, boolean secure) {
        this.sender = sender;
        this.secure = secure;
        if (sender == Role.SOURCE) {
            phase = secure ? Phase.HELLO : Phase.DATA;
        } else {
            phase = secure ? Phase.HELLO_REPLY : Phase.COMPLETE;
        }
    }

    /** Rules for the stream that {@code sender} sends, in the mode its stream header announced. */
    public static StreamRules inbound(Role sender, StreamHeader header) {
        return new StreamRules(Objects.requireNonNull(sender, "sender"), header.secure());
    }

    /** Checks that {@code type} may come now and advances. */
    public void accept(RecordType type) throws ProtocolException {
        Phase nextPhase = nextPhase(type);
        if (nextPhase == null) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, type + " is not allowed from the " + sender
                    + " " + describe() + " (" + (secure ? "secure" : "plain") + " mode)");
        }
        phase = nextPhase;
    }

    private Phase nextPhase(RecordType type) throws ProtocolException {
        if (type == RecordType.END) {
            if (phase == Phase.DATA && !secure) {
                return Phase.ENDED; // a plain stream is complete once its pages are
            }
            if (phase != Phase.COMPLETE && phase != Phase.ENDED) {
                throw new ProtocolException(Reason.TRUNCATED, "the " + sender + " ended its stream "
                        + describe() + "; the migration cannot complete without it");
            }
            return phase == Phase.ENDED ? null : Phase.ENDED;
        }
        switch (phase) {
            case HELLO:
                return type == RecordType.HELLO ? Phase.FINISH : null;
            case FINISH:
                return type == RecordType.FINISH ? Phase.DATA : null;
            case DATA:
                if (type == RecordType.PAGE_BATCH || type == RecordType.VCPU_CONTEXT
                        || type == RecordType.ROUND_STATS) {
                    return Phase.DATA;
                }
                if (!secure) {
                    return null;
                }
                if (type == RecordType.SEALED) {
                    return Phase.DATA;
                }
                if (type == RecordType.MANIFEST) {
                    return Phase.AFTER_MANIFEST;
                }
                return type == RecordType.ABORT ? Phase.COMPLETE : null;
            case AFTER_MANIFEST:
                return type == RecordType.RELEASE || type == RecordType.ABORT ? Phase.COMPLETE : null;
            case HELLO_REPLY:
                return type == RecordType.HELLO_REPLY ? Phase.VERDICT : null;
            case VERDICT:
                if (type == RecordType.READY) {
                    return Phase.AFTER_READY;
                }
                return type == RecordType.ABORT ? Phase.COMPLETE : null;
            case AFTER_READY:
                return type == RecordType.DONE || type == RecordType.ABORT ? Phase.COMPLETE : null;
            default:
                return null;
        }
    }

    /** The channel closed. TRUNCATED unless END was accepted. */
    public void endOfInput() throws ProtocolException {
        if (phase != Phase.ENDED) {
            throw new ProtocolException(Reason.TRUNCATED, "the " + sender + "'s stream stopped " + describe()
                    + " without an END record");
        }
    }

    /** True once every required record has arrived (END may still be missing). */
    public boolean isComplete() {
        return phase == Phase.COMPLETE || phase == Phase.ENDED;
    }

    private String describe() {
        switch (phase) {
            case HELLO:
                return "before its HELLO";
            case FINISH:
                return "before its FINISH";
            case DATA:
                return secure ? "before its MANIFEST" : "before its END";
            case AFTER_MANIFEST:
                return "after its MANIFEST but before RELEASE or ABORT";
            case HELLO_REPLY:
                return "before its HELLO_REPLY";
            case VERDICT:
                return "before READY or ABORT";
            case AFTER_READY:
                return "after READY but before DONE or ABORT";
            case COMPLETE:
                return "after its last control record";
            default:
                return "after its END";
        }
    }
}
