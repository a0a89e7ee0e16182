package org.sealift.agent.engine;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * One direction of a Sealift stream being received. A reader thread takes records off the transport while the
 * consumer (the destination applying pages, or the source waiting for READY) works on the previous ones, so
 * socket reads and page copies run on both cores.
 *
 * <p>Framing is checked as docs/protocol.md §2.2 requires, before any allocation: the type must be registered (an
 * unknown optional record is skipped, an unknown mandatory one stops the stream), the length within the type's
 * bounds and a multiple of its granule, padding zero. Page-sized records (PAGE_BATCH, SEALED) land in pooled
 * direct buffers that the consumer hands back with {@link Frame#release()}; the rare other records get their own
 * array, as {@link WireRecord} does. This is the hot-path twin of the protocol library's RecordDecoder, which the
 * tests use to cross-check it.
 */
public final class InboundStream implements AutoCloseable {

    /**
     * A received record. Page-sized records sit in a pooled buffer that holds the whole framed record (header,
     * body, padding), so sealed records can go to the hypervisor exactly as they came; other records own an array.
     */
    public final class Frame {
        private final RecordType type;
        private final long sequence;
        private final ByteBuffer pooled;
        private final BlockingQueue<ByteBuffer> pool;
        private final ByteBuffer body;
        private final byte[] bytes;

        Frame(RecordType type, long sequence, ByteBuffer pooled, BlockingQueue<ByteBuffer> pool, int length,
                byte[] bytes) {
            this.type = type;
            this.sequence = sequence;
            this.pooled = pooled;
            this.pool = pool;
            this.body = pooled == null ? null : pooled.slice(RecordEncoder.HEADER_LENGTH, length);
            this.bytes = bytes;
        }

        public RecordType type() {
            return type;
        }

        public long sequence() {
            return sequence;
        }

        /** The body as a buffer positioned at 0 with limit = body length (read-only by contract). */
        public ByteBuffer body() {
            return body != null ? body.duplicate() : ByteBuffer.wrap(bytes == null ? new byte[0] : bytes);
        }

        public int length() {
            return body != null ? body.limit() : bytes == null ? 0 : bytes.length;
        }

        /** The whole framed record (header, body, zero padding) as it came off the stream. */
        public ByteBuffer record() {
            if (pooled != null) {
                return pooled.duplicate();
            }
            return ByteBuffer.wrap(RecordEncoder.encode(new WireRecord(type, sequence, bodyBytes())));
        }

        /** The whole framed record as an array (what the hypervisor's protocol calls take). */
        public byte[] recordBytes() {
            ByteBuffer r = record();
            byte[] out = new byte[r.remaining()];
            r.get(out);
            return out;
        }

        /** The body as an array (copied for pooled records; for control and handshake records, it is the array). */
        public byte[] bodyBytes() {
            if (pooled == null) {
                return bytes == null ? new byte[0] : bytes;
            }
            byte[] b = new byte[body.limit()];
            body.get(0, b);
            return b;
        }

        public WireRecord toWireRecord() {
            return new WireRecord(type, sequence, bodyBytes());
        }

        /** Returns a pooled buffer to the reader; the frame must not be used afterwards. */
        public void release() {
            if (pooled != null) {
                pooled.clear();
                pool.offer(pooled);
            }
        }

        @Override
        public String toString() {
            return type + "[seq=" + Long.toUnsignedString(sequence) + ", " + length() + " octets]";
        }
    }

    private static final Object END_OF_INPUT = new Object();

    private final Transport transport;
    /** Largest SEALED record kept in the small pool: a sealed page is 16 + 4144 octets. */
    static final int SMALL_BUFFER_SIZE = 8192;

    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<ByteBuffer> small;
    private final BlockingQueue<Object> ready = new LinkedBlockingQueue<>();
    private final ByteBuffer header = ByteBuffer.allocateDirect(RecordEncoder.HEADER_LENGTH).order(ByteOrder.BIG_ENDIAN);
    private final ByteBuffer padding = ByteBuffer.allocateDirect(8);
    private final Thread reader;
    private volatile StreamHeader streamHeader;
    private volatile byte[] rawHeader;
    private volatile long bytesRead;
    private volatile long lastReadNanos = System.nanoTime();
    private volatile long skippedOptional;
    private volatile boolean closed;
    private volatile Runnable onArrival = () -> { };
    private Object failed;

    public InboundStream(Transport transport, int buffers, String name) {
        this.transport = transport;
        this.free = new ArrayBlockingQueue<>(Math.max(1, buffers));
        for (int i = 0; i < Math.max(1, buffers); i++) {
            free.add(ByteBuffer.allocateDirect(OutboundStream.BUFFER_SIZE).order(ByteOrder.BIG_ENDIAN));
        }
        // sealed pages come one record at a time: many small buffers let the reader run ahead of the hypervisor
        // about 2 MiB of sealed records: enough to keep the hypervisor busy, little enough that stopping the VM
        // does not wait for a long backlog to drain
        int smallCount = 512;
        this.small = new ArrayBlockingQueue<>(smallCount);
        ByteBuffer slab = ByteBuffer.allocateDirect(smallCount * SMALL_BUFFER_SIZE);
        for (int i = 0; i < smallCount; i++) {
            small.add(slab.slice(i * SMALL_BUFFER_SIZE, SMALL_BUFFER_SIZE).order(ByteOrder.BIG_ENDIAN));
        }
        this.reader = new Thread(this::readLoop, name);
        reader.setDaemon(true);
        reader.start();
    }

    private void readLoop() {
        try {
            byte[] sh = new byte[StreamHeader.LENGTH];
            ByteBuffer shb = ByteBuffer.wrap(sh);
            read(shb);
            rawHeader = sh.clone();
            // a secure stream's version is the hypervisor's to judge: it is signed into the handshake transcript,
            // and a rewritten one must reach the records as the hypervisor's DOWNGRADE, not as a framing error here
            StreamHeader h = StreamHeader.parse(sh);
            if (!h.secure()) {
                h.requireSpoken(); // plain mode: no hypervisor looks at it
            }
            streamHeader = h;
            ready.add(streamHeader);
            while (true) {
                header.clear();
                long recordStart = bytesRead;
                read(header);
                header.flip();
                int code = header.getInt();
                long length = Integer.toUnsignedLong(header.getInt());
                long sequence = header.getLong();
                RecordType t = RecordType.forCode(code);
                if (t == null) {
                    skipUnknown(code, length, recordStart);
                    continue;
                }
                if (!t.acceptsLength(length)) {
                    throw new ProtocolException(Reason.MALFORMED, t + " record at octet " + recordStart + " claims "
                            + length + " octets; this type allows " + t.minLength() + " to " + t.maxLength()
                            + " in multiples of " + t.granule());
                }
                int len = (int) length;
                int framed = RecordEncoder.encodedLength(len);
                BlockingQueue<ByteBuffer> pool = t == RecordType.SEALED && framed <= SMALL_BUFFER_SIZE ? small
                        : t == RecordType.PAGE_BATCH && framed <= OutboundStream.BUFFER_SIZE ? free : null;
                Frame f;
                if (pool != null) {
                    ByteBuffer b = pool.take();
                    if (closed) {
                        return;
                    }
                    header.rewind();
                    b.clear().limit(framed);
                    b.put(header);
                    read(b);
                    checkPadding(b, len, t, recordStart);
                    b.flip();
                    f = new Frame(t, sequence, b, pool, len, null);
                } else {
                    byte[] body = new byte[len];
                    read(ByteBuffer.wrap(body));
                    readPadding(len, t, recordStart);
                    f = new Frame(t, sequence, null, null, len, body);
                }
                ready.add(f);
                onArrival.run();
                if (t == RecordType.END) {
                    return;
                }
            }
        } catch (ProtocolException e) {
            ready.add(e);
        } catch (EOFException e) {
            ready.add(new ProtocolException(Reason.TRUNCATED, "the stream from " + transport.peer() + " ended at octet "
                    + bytesRead + " before its END record; the sending agent or the network cut it off", e));
        } catch (IOException e) {
            ready.add(closed ? END_OF_INPUT : e);
        } catch (InterruptedException e) {
            ready.add(END_OF_INPUT);
        }
        if (!closed) {
            onArrival.run();
        }
    }

    private void skipUnknown(int code, long length, long recordStart) throws IOException, ProtocolException {
        if (!RecordType.isOptional(code)) {
            throw new ProtocolException(Reason.UNKNOWN_MANDATORY_RECORD, "record type " + RecordType.describe(code)
                    + " at octet " + recordStart + " is unknown and mandatory; the peer speaks a newer protocol:"
                    + " upgrade this host or migrate with an older peer");
        }
        if (length > RecordType.UNKNOWN_OPTIONAL_MAX_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED, "unknown optional record " + RecordType.describe(code)
                    + " at octet " + recordStart + " claims " + length + " octets, more than the "
                    + RecordType.UNKNOWN_OPTIONAL_MAX_LENGTH + " a receiver skips");
        }
        long left = length + RecordEncoder.paddingLength(length);
        ByteBuffer scratch = ByteBuffer.allocate(8192);
        while (left > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), left));
            read(scratch);
            left -= scratch.limit();
        }
        skippedOptional++;
    }

    private void readPadding(int length, RecordType t, long recordStart) throws IOException, ProtocolException {
        int pad = RecordEncoder.paddingLength(length);
        if (pad == 0) {
            return;
        }
        padding.clear().limit(pad);
        read(padding);
        for (int i = 0; i < pad; i++) {
            if (padding.get(i) != 0) {
                throw new ProtocolException(Reason.MALFORMED, "non-zero padding after the " + t
                        + " record that starts at octet " + recordStart);
            }
        }
    }

    private static void checkPadding(ByteBuffer b, int length, RecordType t, long recordStart)
            throws ProtocolException {
        int start = RecordEncoder.HEADER_LENGTH + length;
        for (int i = start; i < b.limit(); i++) {
            if (b.get(i) != 0) {
                throw new ProtocolException(Reason.MALFORMED, "non-zero padding after the " + t
                        + " record that starts at octet " + recordStart);
            }
        }
    }

    private void read(ByteBuffer b) throws IOException {
        int n = b.remaining();
        transport.readFully(b);
        bytesRead += n;
        lastReadNanos = System.nanoTime();
    }

    /** The stream header, waiting at most {@code timeoutNanos}; null on timeout. */
    public StreamHeader awaitHeader(long timeoutNanos) throws IOException, ProtocolException {
        Object o = poll(timeoutNanos);
        if (o == null) {
            return null;
        }
        if (o instanceof StreamHeader h) {
            return h;
        }
        throw new ProtocolException(Reason.UNEXPECTED_RECORD, "expected the stream header from " + transport.peer()
                + ", got " + o);
    }

    /**
     * The next record, waiting at most {@code timeoutNanos}; null on timeout. A framing error, the end of input
     * before END ({@code TRUNCATED}) or a transport error is thrown, then again on every later call.
     */
    public Frame next(long timeoutNanos) throws IOException, ProtocolException {
        Object o = poll(timeoutNanos);
        if (o == null) {
            return null;
        }
        if (o instanceof StreamHeader) {
            return next(timeoutNanos);
        }
        return (Frame) o;
    }

    private Object poll(long timeoutNanos) throws IOException, ProtocolException {
        if (failed != null) {
            rethrow(failed);
        }
        Object o;
        try {
            o = ready.poll(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading from " + transport.peer());
        }
        if (o instanceof Exception || o == END_OF_INPUT) {
            failed = o;
            rethrow(o);
        }
        return o;
    }

    private void rethrow(Object o) throws IOException, ProtocolException {
        if (o instanceof ProtocolException p) {
            throw new ProtocolException(p.reason(), stripReason(p), p);
        }
        if (o instanceof IOException e) {
            throw new IOException("reading from " + transport.peer() + " failed: " + e.getMessage(), e);
        }
        throw new IOException("the stream from " + transport.peer() + " was closed locally");
    }

    private static String stripReason(ProtocolException p) {
        String m = p.getMessage();
        String prefix = p.reason() + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    public StreamHeader streamHeader() {
        return streamHeader;
    }

    /** The 16 octets of the peer's stream header as they arrived (they are signed into the handshake transcript). */
    public byte[] rawStreamHeader() {
        byte[] h = rawHeader;
        return h == null ? null : h.clone();
    }

    public long bytesRead() {
        return bytesRead;
    }

    public long lastReadNanos() {
        return lastReadNanos;
    }

    public long skippedOptionalRecords() {
        return skippedOptional;
    }

    /** Runs on the reader thread after each record (or failure) is queued; it must return at once. */
    public void onArrival(Runnable r) {
        onArrival = r;
    }

    /**
     * Makes the consumer's current or next wait fail with DEADLINE (after records already queued), without closing
     * the transport: the engine can still send its ABORT on the other direction.
     */
    public void wake(String why) {
        ready.add(new ProtocolException(Reason.DEADLINE, why + " passed"));
    }

    /** Stops the reader; the transport itself is closed by its owner. */
    @Override
    public void close() {
        closed = true;
        reader.interrupt();
        free.offer(ByteBuffer.allocate(0));
        small.offer(ByteBuffer.allocate(0));
    }
}
