package org.sealift.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ProtocolExceptionTest {

    @Test
    void messageStartsWithTheReasonSoLogsAndRecordsCanBeGrepped() {
        var e = new ProtocolException(ProtocolException.Reason.REPLAY, "page 7 version 3 is older than 5");
        assertEquals("REPLAY: page 7 version 3 is older than 5", e.getMessage());
        assertEquals(ProtocolException.Reason.REPLAY, e.reason());
    }

    @Test
    void aReasonIsRequired() {
        assertThrows(NullPointerException.class, () -> new ProtocolException(null, "x"));
    }

    @Test
    void libraryIsCompiledForJava17SoTheAgentRunsOnADebian12Dom0() throws Exception {
        try (var in = ProtocolException.class.getResourceAsStream("ProtocolException.class")) {
            byte[] head = in.readNBytes(8);
            assertEquals(61, ((head[6] & 0xff) << 8) | (head[7] & 0xff), "class file major version");
        }
    }
}
