package org.sealift.protocol.wire;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Writes one direction of a stream to an {@link OutputStream}: the stream header, then records. Data records get
 * the running record index as their (diagnostic) sequence; control records keep the control sequence they were
 * sealed with. Not thread-safe.
 */
public final class RecordWriter {

    private final OutputStream out;
    private final byte[] header = new byte[RecordEncoder.HEADER_LENGTH];
    private static final byte[] PADDING = new byte[8];
    private long index;
    private boolean ended;

    /** Writes {@code streamHeader} immediately. */
    public RecordWriter(OutputStream out, StreamHeader streamHeader) throws IOException {
        this.out = Objects.requireNonNull(out, "out");
        out.write(streamHeader.encode());
    }

    /** Writes a data or handshake record with the next record index as sequence. */
    public void write(RecordType type, byte[] body) throws IOException {
        if (type.isControl()) {
            throw new IllegalArgumentException(type + " is a control record: seal it with a ControlSender and write"
                    + " the resulting record");
        }
        write(type, index, body);
    }

    /** Writes a record as is (control records carry their control sequence). */
    public void write(WireRecord record) throws IOException {
        write(record.type(), record.sequence(), record.body());
    }

    private void write(RecordType type, long sequence, byte[] body) throws IOException {
        if (ended) {
            throw new IllegalStateException("the stream already ended");
        }
        ByteBuffer h = ByteBuffer.wrap(header);
        RecordEncoder.writeHeader(h, type, sequence, body.length);
        out.write(header);
        out.write(body);
        out.write(PADDING, 0, RecordEncoder.paddingLength(body.length));
        index++;
        if (type == RecordType.END) {
            ended = true;
        }
    }

    /** Writes END and flushes. */
    public void end() throws IOException {
        write(RecordType.END, index, new byte[0]);
        out.flush();
    }

    public void flush() throws IOException {
        out.flush();
    }

    /** Records written so far. */
    public long recordsWritten() {
        return index;
    }
}
