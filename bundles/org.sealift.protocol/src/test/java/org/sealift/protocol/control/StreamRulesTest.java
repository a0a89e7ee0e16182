package org.sealift.protocol.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;

class StreamRulesTest {

    private static StreamRules source() {
        return StreamRules.inbound(Role.SOURCE, StreamHeader.secureV1());
    }

    private static void accept(StreamRules r, RecordType... types) throws ProtocolException {
        for (RecordType t : types) {
            r.accept(t);
        }
    }

    @Test
    void completeSecureSourceStreamPasses() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH, RecordType.PAGE_BATCH, RecordType.SEALED,
                RecordType.ROUND_STATS, RecordType.SEALED, RecordType.VCPU_CONTEXT, RecordType.MANIFEST,
                RecordType.RELEASE, RecordType.END);
        r.endOfInput();
    }

    @Test
    void completeSecureDestinationStreamPasses() throws Exception {
        StreamRules r = StreamRules.inbound(Role.DESTINATION, StreamHeader.secureV1());
        accept(r, RecordType.HELLO_REPLY, RecordType.READY, RecordType.DONE, RecordType.END);
        r.endOfInput();
    }

    @Test
    void droppedManifestEndsTheStreamTruncated() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH, RecordType.PAGE_BATCH, RecordType.SEALED);
        ProtocolException e = assertThrows(ProtocolException.class, () -> r.accept(RecordType.END));
        assertEquals(Reason.TRUNCATED, e.reason());
        assertTrue(e.getMessage().contains("MANIFEST"), e.getMessage());
    }

    @Test
    void streamThatStopsAfterTheManifestWithoutReleaseIsTruncated() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH, RecordType.MANIFEST);
        assertEquals(Reason.TRUNCATED, assertThrows(ProtocolException.class, r::endOfInput).reason());
        assertEquals(Reason.TRUNCATED, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.END)).reason());
    }

    @Test
    void destinationStreamWithoutVerdictIsTruncated() throws Exception {
        StreamRules r = StreamRules.inbound(Role.DESTINATION, StreamHeader.secureV1());
        r.accept(RecordType.HELLO_REPLY);
        assertEquals(Reason.TRUNCATED, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.END)).reason());
    }

    @Test
    void pageAfterTheManifestIsUnexpected() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH, RecordType.MANIFEST);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.SEALED)).reason());
    }

    @Test
    void releaseBeforeTheManifestIsUnexpected() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.RELEASE)).reason());
    }

    @Test
    void abortAfterReleaseIsUnexpected() throws Exception {
        StreamRules r = source();
        accept(r, RecordType.HELLO, RecordType.FINISH, RecordType.MANIFEST, RecordType.RELEASE);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.ABORT)).reason());
    }

    @Test
    void pagesBeforeTheHandshakeAreUnexpected() {
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> source().accept(RecordType.SEALED)).reason());
    }

    @Test
    void sealedRecordInPlainModeIsUnexpected() throws Exception {
        StreamRules r = StreamRules.inbound(Role.SOURCE, StreamHeader.plainV1());
        r.accept(RecordType.PAGE_BATCH);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.SEALED)).reason());
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> StreamRules.inbound(Role.SOURCE, StreamHeader.plainV1()).accept(RecordType.HELLO)).reason());
    }

    @Test
    void plainModeStreamIsPagesThenEnd() throws Exception {
        StreamRules r = StreamRules.inbound(Role.SOURCE, StreamHeader.plainV1());
        accept(r, RecordType.PAGE_BATCH, RecordType.VCPU_CONTEXT, RecordType.END);
        r.endOfInput();
        StreamRules back = StreamRules.inbound(Role.DESTINATION, StreamHeader.plainV1());
        back.accept(RecordType.END);
        back.endOfInput();
    }

    @Test
    void destinationSendingReleaseIsUnexpected() throws Exception {
        StreamRules r = StreamRules.inbound(Role.DESTINATION, StreamHeader.secureV1());
        accept(r, RecordType.HELLO_REPLY, RecordType.READY);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.RELEASE)).reason());
    }

    @Test
    void secondEndIsUnexpected() throws Exception {
        StreamRules r = StreamRules.inbound(Role.DESTINATION, StreamHeader.plainV1());
        r.accept(RecordType.END);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class,
                () -> r.accept(RecordType.END)).reason());
    }
}
