package org.sealift.protocol.wire;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;

/** Blocking reader of one direction of a stream over an {@link InputStream}, built on {@link RecordDecoder}. */
public final class RecordReader {

    private final InputStream in;
    private final RecordDecoder decoder = new RecordDecoder();
    private final byte[] buf = new byte[64 * 1024];

    public RecordReader(InputStream in) {
        this.in = Objects.requireNonNull(in, "in");
    }

    /**
     * The next record; END is returned once, after which this returns null. The input ending early throws
     * TRUNCATED.
     */
    public WireRecord read() throws IOException, ProtocolException {
        while (true) {
            WireRecord r = decoder.next();
            if (r != null) {
                return r;
            }
            if (decoder.isEnded()) {
                return null;
            }
            int n = in.read(buf);
            if (n < 0) {
                decoder.endOfInput();
                return null;
            }
            decoder.feed(ByteBuffer.wrap(buf, 0, n));
        }
    }

    /** The stream header, once the first record has been read. */
    public StreamHeader streamHeader() {
        return decoder.streamHeader();
    }

    public long skippedOptionalRecords() {
        return decoder.skippedOptionalRecords();
    }
}
