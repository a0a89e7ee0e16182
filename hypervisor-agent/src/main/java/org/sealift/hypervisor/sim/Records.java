package org.sealift.hypervisor.sim;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/** Framing of the single records the hypervisor makes and takes (docs/protocol.md §2.2). */
final class Records {

    private Records() {
    }

    /** One complete record; non-control records carry sequence 0 (diagnostic only, never checked). */
    static byte[] encode(RecordType type, byte[] body) {
        return RecordEncoder.encode(new WireRecord(type, 0, body));
    }

    static byte[] encode(WireRecord record) {
        return RecordEncoder.encode(record);
    }

    /** Exactly one complete record of type {@code expected}, as the agent handed it over. */
    static WireRecord decodeOne(byte[] bytes, RecordType expected) throws ProtocolException {
        RecordDecoder d = RecordDecoder.recordsOnly();
        d.feed(bytes, 0, bytes.length);
        WireRecord r = d.next();
        if (r == null) {
            throw new ProtocolException(Reason.TRUNCATED, "expected a complete " + expected + " record, got "
                    + bytes.length + " bytes that do not hold one");
        }
        if (d.next() != null || r.encodedLength() != bytes.length) {
            throw new ProtocolException(Reason.MALFORMED, "expected exactly one " + expected
                    + " record; more bytes follow it");
        }
        if (r.type() != expected) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "expected a " + expected + " record, got "
                    + r.type());
        }
        return r;
    }
}
