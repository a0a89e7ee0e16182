package org.sealift.agent.engine.attack;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.sealift.agent.engine.Transport;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;

/**
 * A malicious dom0 on the agent⇄agent stream, for the attack suite and the training labs: it sits between the
 * source's and the destination's transports, parses the records going each way (it can: the framing is public)
 * and lets a {@link Tamper} drop, change, duplicate, hold back, inject, stall or cut them. It holds no key, so all
 * it can do to protected content is what a real attacker on the network or in dom0 could do.
 */
public final class StreamInterposer implements AutoCloseable {

    public enum Direction {
        SOURCE_TO_DESTINATION, DESTINATION_TO_SOURCE
    }

    /** One record as it passed, with its header fields; the body may be changed before it is forwarded. */
    public static final class Record {
        public final Direction direction;
        /** 0-based index of the record in its direction's stream. */
        public final int index;
        public final int typeCode;
        public long sequence;
        public byte[] body;

        Record(Direction direction, int index, int typeCode, long sequence, byte[] body) {
            this.direction = direction;
            this.index = index;
            this.typeCode = typeCode;
            this.sequence = sequence;
            this.body = body;
        }

        /** The registered type, or null for a type this implementation does not know. */
        public RecordType type() {
            return RecordType.forCode(typeCode);
        }

        public boolean is(RecordType t) {
            return typeCode == t.code();
        }

        public Record copy() {
            return new Record(direction, index, typeCode, sequence, body.clone());
        }

        /** The record framed for the wire: header, body, zero padding. */
        public byte[] framed() {
            ByteBuffer b = ByteBuffer.allocate(RecordEncoder.HEADER_LENGTH + body.length
                    + RecordEncoder.paddingLength(body.length));
            b.putInt(typeCode).putInt(body.length).putLong(sequence).put(body);
            return b.array();
        }

        // SEALED body fields (docs/protocol.md §4.2): kind u8, reserved, process id u32, counter, target, version
        public int sealedKind() {
            return body[0];
        }

        public int sealedProcess() {
            return ByteBuffer.wrap(body).getInt(4);
        }

        public long sealedTarget() {
            return ByteBuffer.wrap(body).getLong(16);
        }

        public long sealedVersion() {
            return ByteBuffer.wrap(body).getLong(24);
        }

        @Override
        public String toString() {
            RecordType t = type();
            return direction + "#" + index + " " + (t == null ? RecordType.describe(typeCode) : t) + " seq="
                    + sequence + " len=" + body.length;
        }
    }

    /** What the attacker may do with the records of one direction. */
    public interface Output {
        /** Sends a record on (changed or not; any number of times; also records captured elsewhere). */
        void forward(Record r) throws IOException;

        /** Sends raw bytes on (a forged stream header, garbage). */
        void forwardRaw(byte[] bytes) throws IOException;

        /** Stops forwarding and reading this direction until the interposer closes (the sender backs up). */
        void stall() throws IOException;

        /** Cuts the connection in both directions, as a cable pull or a killed proxy would. */
        void cut();
    }

    /** The attack: called for every record; forwarding is up to it. */
    @FunctionalInterface
    public interface Tamper {
        void onRecord(Record r, Output out) throws IOException;

        /** Forwards everything unchanged. */
        Tamper NONE = (r, out) -> out.forward(r);
    }

    /** Changes a stream header (16 octets) on its way; returns what to forward. */
    @FunctionalInterface
    public interface HeaderTamper {
        byte[] onHeader(Direction d, byte[] header);

        HeaderTamper NONE = (d, h) -> h;
    }

    private final HeaderTamper headerTamper;
    private final Transport sourceSide;
    private final Transport destinationSide;
    private final Tamper tamper;
    private final List<Record> seen = new CopyOnWriteArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread forward;
    private final Thread backward;

    /**
     * Starts pumping. {@code sourceSide} is connected to the source agent, {@code destinationSide} to the
     * destination agent.
     */
    public StreamInterposer(Transport sourceSide, Transport destinationSide, Tamper tamper) {
        this(sourceSide, destinationSide, tamper, HeaderTamper.NONE);
    }

    public StreamInterposer(Transport sourceSide, Transport destinationSide, Tamper tamper, HeaderTamper headers) {
        this.headerTamper = headers;
        this.sourceSide = sourceSide;
        this.destinationSide = destinationSide;
        this.tamper = tamper;
        this.forward = pump(Direction.SOURCE_TO_DESTINATION, sourceSide, destinationSide);
        this.backward = pump(Direction.DESTINATION_TO_SOURCE, destinationSide, sourceSide);
    }

    private Thread pump(Direction d, Transport from, Transport to) {
        Thread t = new Thread(() -> run(d, from, to), "interposer-" + d);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void run(Direction d, Transport from, Transport to) {
        Output out = new Output() {
            @Override
            public void forward(Record r) throws IOException {
                to.write(ByteBuffer.wrap(r.framed()));
            }

            @Override
            public void forwardRaw(byte[] bytes) throws IOException {
                to.write(ByteBuffer.wrap(bytes));
            }

            @Override
            public void stall() {
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new StalledUntilClose();
            }

            @Override
            public void cut() {
                close();
                throw new StalledUntilClose();
            }
        };
        try {
            ByteBuffer header = ByteBuffer.allocate(16);
            from.readFully(header);
            to.write(ByteBuffer.wrap(headerTamper.onHeader(d, header.array().clone())));
            int index = 0;
            while (true) {
                header.clear();
                from.readFully(header);
                header.flip();
                int type = header.getInt();
                int length = header.getInt();
                long seq = header.getLong();
                if (length < 0 || length > 64 << 20) {
                    // not a record we can parse: pass the rest through as bytes
                    to.write(header.rewind());
                    continue;
                }
                ByteBuffer body = ByteBuffer.allocate(length + RecordEncoder.paddingLength(length));
                from.readFully(body);
                byte[] b = new byte[length];
                body.get(0, b);
                Record r = new Record(d, index++, type, seq, b);
                // page batches are kept without their data: a test looks at what passed, not at normal memory
                seen.add(type == RecordType.PAGE_BATCH.code() ? new Record(d, r.index, type, seq, new byte[0]) : r.copy());
                tamper.onRecord(r, out);
                if (type == RecordType.END.code()) {
                    to.shutdownOutput();
                    return;
                }
            }
        } catch (IOException | StalledUntilClose e) {
            // the connection ended (or was cut or stalled on purpose): end the other side as well
            if (closed.getCount() > 0) {
                try {
                    to.shutdownOutput();
                } catch (IOException ignored) {
                    // already gone
                }
            }
        }
    }

    /** Thrown inside a pump to end it after a stall or cut. */
    private static final class StalledUntilClose extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    /**
     * Every record that came by, in arrival order per direction, as it arrived (before tampering); PAGE_BATCH
     * bodies are not kept.
     */
    public List<Record> seen() {
        return List.copyOf(seen);
    }

    /** The records of one type seen in one direction. */
    public List<Record> seen(Direction d, RecordType t) {
        return seen.stream().filter(r -> r.direction == d && r.is(t)).toList();
    }

    @Override
    public void close() {
        closed.countDown();
        sourceSide.close();
        destinationSide.close();
        forward.interrupt();
        backward.interrupt();
    }
}
