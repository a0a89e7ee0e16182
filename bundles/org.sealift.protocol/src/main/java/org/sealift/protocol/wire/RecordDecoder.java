package org.sealift.protocol.wire;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Incremental decoder of one direction of a migration stream (docs/protocol.md §2.2). Feed it octets as they arrive,
 * in chunks of any size, and take complete records with {@link #next()}.
 *
 * <p>It never trusts a length: a record header is checked against the type's registered minimum, maximum and granule
 * before a body buffer is allocated, and the buffer then grows with the octets that actually arrive (doubling from
 * {@value #INITIAL_BODY_CAPACITY} octets), so a header that claims a large body costs nothing until the peer sends it. Unknown optional records are skipped without buffering; unknown mandatory ones stop the
 * stream. The first failure is sticky: every later call throws it again, because after a framing error the rest of
 * the stream cannot be interpreted.
 *
 * <p>Not thread-safe; one decoder per inbound stream.
 */
public final class RecordDecoder {

    private enum State { STREAM_HEADER, RECORD_HEADER, BODY, PADDING, SKIP, ENDED }

    /** Bodies up to this size (every page record) are allocated at once; larger ones grow as their octets arrive. */
    static final int INITIAL_BODY_CAPACITY = 64 * 1024;

    private final byte[] headerBuf = new byte[RecordEncoder.HEADER_LENGTH];
    private final ArrayDeque<WireRecord> ready = new ArrayDeque<>();
    private State state;
    private int headerFill;
    private StreamHeader streamHeader;

    private RecordType type;
    private long sequence;
    private byte[] body;
    private int bodyLength;
    private int bodyFill;
    private int paddingLeft;
    private long skipLeft;

    private long offset;
    private long recordStart;
    private long skippedOptional;
    private ProtocolException failure;

    /** A decoder that expects the 16-octet stream header first. */
    public RecordDecoder() {
        this(true);
    }

    private RecordDecoder(boolean expectStreamHeader) {
        state = expectStreamHeader ? State.STREAM_HEADER : State.RECORD_HEADER;
    }

    /** A decoder for a record sequence without stream header (e.g. a record file carried by hand). */
    public static RecordDecoder recordsOnly() {
        return new RecordDecoder(false);
    }

    /** Consumes all remaining octets of {@code in}. Complete records become available through {@link #next()}. */
    public void feed(ByteBuffer in) throws ProtocolException {
        if (failure != null) {
            throw failure;
        }
        try {
            while (in.hasRemaining()) {
                step(in);
            }
        } catch (ProtocolException e) {
            failure = e;
            throw e;
        }
    }

    public void feed(byte[] bytes, int off, int len) throws ProtocolException {
        feed(ByteBuffer.wrap(bytes, off, len));
    }

    /** The next complete record, or null if more input is needed. END is returned like any other record. */
    public WireRecord next() throws ProtocolException {
        if (failure != null && ready.isEmpty()) {
            throw failure;
        }
        return ready.poll();
    }

    /**
     * The input has ended (the peer closed the channel). Throws TRUNCATED unless the stream was complete up to and
     * including its END record.
     */
    public void endOfInput() throws ProtocolException {
        if (failure != null) {
            throw failure;
        }
        if (state != State.ENDED) {
            failure = new ProtocolException(Reason.TRUNCATED, "the stream ended at octet " + offset
                    + " " + whereAmI() + ", before its END record; the sending agent or the network cut it off");
            throw failure;
        }
    }

    private String whereAmI() {
        switch (state) {
            case STREAM_HEADER:
                return "inside the stream header";
            case RECORD_HEADER:
                return headerFill == 0 ? "between records" : "inside a record header";
            case BODY:
            case PADDING:
                return "inside the " + type + " record that starts at octet " + recordStart;
            case SKIP:
                return "inside a skipped optional record that starts at octet " + recordStart;
            default:
                return "";
        }
    }

    /** The stream header, or null before it has been read. */
    public StreamHeader streamHeader() {
        return streamHeader;
    }

    /** True once the END record has been decoded. */
    public boolean isEnded() {
        return state == State.ENDED;
    }

    /** Number of unknown optional records skipped so far. */
    public long skippedOptionalRecords() {
        return skippedOptional;
    }

    /** Capacity of the body buffer of the record being read (0 between records); for the allocation tests. */
    int bufferedBodyCapacity() {
        return body == null ? 0 : body.length;
    }

    /** Octets consumed so far. */
    public long offset() {
        return offset;
    }

    private void step(ByteBuffer in) throws ProtocolException {
        switch (state) {
            case STREAM_HEADER: {
                if (fillHeader(in, StreamHeader.LENGTH)) {
                    byte[] h = new byte[StreamHeader.LENGTH];
                    System.arraycopy(headerBuf, 0, h, 0, h.length);
                    streamHeader = StreamHeader.decode(h);
                    headerFill = 0;
                    state = State.RECORD_HEADER;
                }
                break;
            }
            case RECORD_HEADER: {
                if (headerFill == 0) {
                    recordStart = offset;
                }
                if (fillHeader(in, RecordEncoder.HEADER_LENGTH)) {
                    headerFill = 0;
                    startRecord();
                }
                break;
            }
            case BODY: {
                int n = Math.min(in.remaining(), bodyLength - bodyFill);
                if (bodyFill + n > body.length) {
                    body = java.util.Arrays.copyOf(body,
                            (int) Math.min(bodyLength, Math.max(2L * body.length, (long) bodyFill + n)));
                }
                in.get(body, bodyFill, n);
                bodyFill += n;
                offset += n;
                if (bodyFill == bodyLength) {
                    state = paddingLeft > 0 ? State.PADDING : State.RECORD_HEADER;
                    if (paddingLeft == 0) {
                        completeRecord();
                    }
                }
                break;
            }
            case PADDING: {
                byte b = in.get();
                offset++;
                if (b != 0) {
                    throw new ProtocolException(Reason.MALFORMED, "non-zero padding octet at offset " + (offset - 1)
                            + " after the " + type + " record that starts at octet " + recordStart);
                }
                if (--paddingLeft == 0) {
                    state = State.RECORD_HEADER;
                    completeRecord();
                }
                break;
            }
            case SKIP: {
                int n = (int) Math.min(in.remaining(), skipLeft);
                in.position(in.position() + n);
                offset += n;
                skipLeft -= n;
                if (skipLeft == 0) {
                    skippedOptional++;
                    state = State.RECORD_HEADER;
                }
                break;
            }
            case ENDED:
                throw new ProtocolException(Reason.MALFORMED, "octets after the END record at offset " + offset
                        + "; a stream ends with END");
            default:
                throw new IllegalStateException(state.toString());
        }
    }

    private boolean fillHeader(ByteBuffer in, int length) {
        int n = Math.min(in.remaining(), length - headerFill);
        in.get(headerBuf, headerFill, n);
        headerFill += n;
        offset += n;
        return headerFill == length;
    }

    private void startRecord() throws ProtocolException {
        ByteBuffer h = ByteBuffer.wrap(headerBuf);
        int code = h.getInt();
        long length = Integer.toUnsignedLong(h.getInt());
        sequence = h.getLong();
        RecordType t = RecordType.forCode(code);
        if (t == null) {
            if (!RecordType.isOptional(code)) {
                throw new ProtocolException(Reason.UNKNOWN_MANDATORY_RECORD, "record type "
                        + RecordType.describe(code) + " at octet " + recordStart + " is unknown and mandatory;"
                        + " the peer speaks a newer protocol: upgrade this host or migrate with an older peer");
            }
            if (length > RecordType.UNKNOWN_OPTIONAL_MAX_LENGTH) {
                throw new ProtocolException(Reason.MALFORMED, "unknown optional record " + RecordType.describe(code)
                        + " at octet " + recordStart + " claims " + length + " octets, more than the "
                        + RecordType.UNKNOWN_OPTIONAL_MAX_LENGTH + " a receiver skips");
            }
            skipLeft = length + RecordEncoder.paddingLength(length);
            if (skipLeft == 0) {
                skippedOptional++;
            } else {
                state = State.SKIP;
            }
            return;
        }
        if (length < t.minLength() || length > t.maxLength()) {
            throw new ProtocolException(Reason.MALFORMED, t + " record at octet " + recordStart + " claims "
                    + length + " octets; this type allows " + t.minLength() + " to " + t.maxLength());
        }
        if (length % t.granule() != 0) {
            throw new ProtocolException(Reason.MALFORMED, t + " record at octet " + recordStart + " claims "
                    + length + " octets, which is not a multiple of " + t.granule() + " (misaligned length)");
        }
        type = t;
        bodyLength = (int) length;
        body = new byte[Math.min(bodyLength, INITIAL_BODY_CAPACITY)];
        bodyFill = 0;
        paddingLeft = RecordEncoder.paddingLength(length);
        if (length == 0) {
            state = paddingLeft > 0 ? State.PADDING : State.RECORD_HEADER;
            if (paddingLeft == 0) {
                completeRecord();
            }
        } else {
            state = State.BODY;
        }
    }

    private void completeRecord() {
        ready.add(new WireRecord(type, sequence, body));
        if (type == RecordType.END) {
            state = State.ENDED;
        }
        body = null;
        type = null;
    }
}
