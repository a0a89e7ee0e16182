package org.sealift.agent.engine;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * One direction of a Sealift stream being sent: the producer (the round loop) fills pooled direct buffers with
 * records while a writer thread pushes filled buffers to the transport. That splits page encoding and socket
 * writes over both cores, and reusing the buffers keeps the hot path free of allocations.
 *
 * <p>Records are framed per docs/protocol.md §2.2 (header from {@link RecordEncoder}, zero padding to 8 octets).
 * Data records carry the running record index as their diagnostic sequence; control records keep the sequence
 * their sender sealed them with.
 */
public final class OutboundStream implements AutoCloseable {

    /** Room for the largest PAGE_BATCH the engine builds (256 pages) and its header. */
    public static final int BUFFER_SIZE = 16 + 8 + 8 * 256 + 4096 * 256 + 4096;

    private static final ByteBuffer POISON = ByteBuffer.allocate(0);

    private final Transport transport;
    private final BandwidthLimiter limiter;
    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<ByteBuffer> filled;
    private final Thread writer;
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong bytesQueued = new AtomicLong();
    private volatile IOException failure;
    private volatile long lastWriteNanos = System.nanoTime();
    private ByteBuffer current;
    private long recordIndex;
    private boolean ended;
    private boolean closed;

    /**
     * Starts the writer thread and queues the stream header.
     *
     * @param buffers how many buffers circulate between producer and writer (at least 2)
     */
    public OutboundStream(Transport transport, StreamHeader header, BandwidthLimiter limiter, int buffers,
            String name) throws IOException {
        if (buffers < 2) {
            throw new IllegalArgumentException("an outbound stream needs at least 2 buffers, got " + buffers);
        }
        this.transport = transport;
        this.limiter = limiter;
        this.free = new ArrayBlockingQueue<>(buffers);
        this.filled = new ArrayBlockingQueue<>(buffers + 1);
        for (int i = 0; i < buffers; i++) {
            free.add(ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.BIG_ENDIAN));
        }
        this.writer = new Thread(this::writeLoop, name);
        writer.setDaemon(true);
        writer.start();
        room(StreamHeader.LENGTH).put(header.encode());
    }

    private void writeLoop() {
        try {
            while (true) {
                ByteBuffer b = filled.take();
                if (b == POISON) {
                    return;
                }
                int n = b.remaining();
                limiter.acquire(n);
                transport.write(b);
                bytesWritten.addAndGet(n);
                lastWriteNanos = System.nanoTime();
                b.clear();
                free.add(b);
            }
        } catch (IOException e) {
            fail(e);
        } catch (InterruptedException e) {
            fail(new InterruptedIOException("writer to " + transport.peer() + " was interrupted"));
        } catch (RuntimeException e) {
            fail(new IOException("writer to " + transport.peer() + " failed: " + e, e));
        } finally {
            if (failure != null) {
                // unblock a producer waiting for a free buffer
                free.offer(POISON);
            }
        }
    }

    /**
     * The current buffer with at least {@code bytes} free; hands the previous one to the writer when it is too
     * full. The caller writes big-endian at the buffer's position.
     */
    public ByteBuffer room(int bytes) throws IOException {
        if (bytes > BUFFER_SIZE) {
            throw new IllegalArgumentException(bytes + " octets do not fit one stream buffer of " + BUFFER_SIZE);
        }
        checkFailure();
        if (current != null && current.remaining() >= bytes) {
            return current;
        }
        if (current != null) {
            submit();
        }
        try {
            ByteBuffer b = free.take();
            if (b == POISON) {
                checkFailure();
            }
            current = b;
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the writer to " + transport.peer());
        }
    }

    private void submit() {
        current.flip();
        bytesQueued.addAndGet(current.remaining());
        filled.add(current);
        current = null;
    }

    /** Index to put in the sequence field of the next data record (diagnostic, docs/protocol.md §2.2). */
    public long nextRecordIndex() {
        return recordIndex++;
    }

    /** Starts a record of {@code bodyLength} octets in the returned buffer; the caller writes the body, then pads. */
    public ByteBuffer beginRecord(RecordType type, long sequence, int bodyLength) throws IOException {
        ByteBuffer b = room(RecordEncoder.encodedLength(bodyLength));
        RecordEncoder.writeHeader(b, type, sequence, bodyLength);
        return b;
    }

    /**
     * Copies {@code records} — complete framed records made elsewhere (the hypervisor's sealed pages, handshake and
     * control records) — to the stream unchanged; {@code count} of them advance the record index.
     */
    public void writeFramed(ByteBuffer records, int count) throws IOException {
        if (ended) {
            throw new IllegalStateException("the stream to " + transport.peer() + " already ended");
        }
        ByteBuffer src = records.duplicate();
        while (src.hasRemaining()) {
            ByteBuffer b = room(Math.min(src.remaining(), 64 * 1024));
            int n = Math.min(b.remaining(), src.remaining());
            b.put(b.position(), src, src.position(), n);
            b.position(b.position() + n);
            src.position(src.position() + n);
        }
        recordIndex += count;
    }

    /** Writes a data or handshake record with the next record index as its sequence. */
    public void writeData(RecordType type, byte[] body) throws IOException {
        if (type.isControl()) {
            throw new IllegalArgumentException(type + " is a control record: it keeps its sealed sequence");
        }
        write(type, nextRecordIndex(), body);
    }

    /** Writes a record as it is (control records carry the sequence they were sealed with). */
    public void write(WireRecord record) throws IOException {
        nextRecordIndex(); // control records also count as records of the stream
        write(record.type(), record.sequence(), record.body());
    }

    private void write(RecordType type, long sequence, byte[] body) throws IOException {
        if (ended) {
            throw new IllegalStateException("the stream to " + transport.peer() + " already ended");
        }
        int encoded = RecordEncoder.encodedLength(body.length);
        if (encoded <= BUFFER_SIZE) {
            ByteBuffer b = beginRecord(type, sequence, body.length);
            b.put(body);
            RecordEncoder.writePadding(b, body.length);
        } else {
            // a large manifest: header, then the body in buffer-sized pieces
            RecordEncoder.writeHeader(room(RecordEncoder.HEADER_LENGTH), type, sequence, body.length);
            int off = 0;
            while (off < body.length) {
                ByteBuffer b = room(Math.min(BUFFER_SIZE, body.length - off));
                int n = Math.min(b.remaining(), body.length - off);
                b.put(body, off, n);
                off += n;
            }
            RecordEncoder.writePadding(room(8), body.length);
        }
        if (type == RecordType.END) {
            ended = true;
        }
    }

    /** Hands everything written so far to the writer without waiting (before waiting for the peer's answer). */
    public void push() throws IOException {
        checkFailure();
        if (current != null && current.position() > 0) {
            submit();
        }
    }

    /** Hands everything written so far to the writer and waits until it reached the transport. */
    public void flush() throws IOException {
        push();
        while (bytesWritten.get() < bytesQueued.get()) {
            checkFailure();
            if (!writer.isAlive()) {
                checkFailure();
                throw new IOException("writer to " + transport.peer() + " stopped");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while flushing to " + transport.peer());
            }
        }
        checkFailure();
    }

    /** Writes END, flushes, and signals the end of output to the peer. */
    public void end() throws IOException {
        write(WireRecord.end(recordIndex));
        flush();
        transport.shutdownOutput();
    }

    private void checkFailure() throws IOException {
        IOException f = failure;
        if (f != null) {
            throw new IOException("stream to " + transport.peer() + " failed: " + f.getMessage(), f);
        }
    }

    /**
     * Makes the producer's current or next call fail at once (the peer gave up: nothing more needs to be sent).
     * The writer thread is interrupted; a channel interrupted in a write closes, which is fine at that point.
     */
    public void interrupt(String why) {
        fail(new IOException(why));
        free.offer(POISON);
        writer.interrupt();
    }

    private synchronized void fail(IOException e) {
        if (failure == null) {
            failure = e; // the first cause is the one worth reporting
        }
    }

    /** Octets that reached the transport. */
    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** Octets handed to the writer (written or about to be), plus those in the buffer being filled. */
    public long bytesProduced() {
        return bytesQueued.get() + (current == null ? 0 : current.position());
    }

    /** True when produced records wait for the writer (a peer that stopped reading makes this stick). */
    public boolean backlogged() {
        return bytesWritten.get() < bytesQueued.get() || (current != null && current.position() > 0
                && free.isEmpty());
    }

    public long lastWriteNanos() {
        return lastWriteNanos;
    }

    /** Stops the writer thread; buffered but unwritten records are dropped. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        filled.clear();
        filled.offer(POISON);
        writer.interrupt();
    }
}
