package org.sealift.agent.sim;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Frames of the simulated hypervisor's privileged socket (the dom0 ⇄ hypervisor interface, like Xen's privcmd
 * hypercalls): {@code u32 length ‖ payload}. A request payload is {@code u16 op ‖ args}; a response is {@code u8
 * status ‖ result} or, for status 1, {@code reason ‖ protocol reason ‖ message}. Both the agent-side client and the
 * hypervisor process use this class; it carries no secrets, only the encoding.
 */
public final class SimFrame {

    /** Largest frame either side accepts: a 64 MiB sealed batch or manifest is far above what a call returns. */
    public static final int MAX_FRAME = 64 << 20;

    private ByteBuffer buf;

    public SimFrame() {
        this(256);
    }

    public SimFrame(int capacity) {
        buf = ByteBuffer.allocate(Math.max(16, capacity));
        buf.putInt(0); // length, patched by send
    }

    private SimFrame(ByteBuffer in) {
        buf = in;
    }

    /** Wraps a received payload for reading. */
    public static SimFrame reading(ByteBuffer payload) {
        return new SimFrame(payload);
    }

    private void ensure(int n) {
        if (buf.remaining() < n) {
            int cap = Math.max(buf.capacity() * 2, buf.position() + n);
            if (cap > MAX_FRAME + 4) {
                throw new IllegalStateException("frame would exceed " + MAX_FRAME + " bytes");
            }
            ByteBuffer b = ByteBuffer.allocate(cap);
            buf.flip();
            b.put(buf);
            buf = b;
        }
    }

    // ---- writing ----

    /** Makes room for {@code n} more bytes at once (large payloads: one allocation instead of repeated doubling). */
    public SimFrame reserve(int n) {
        if (buf.remaining() < n) {
            long cap = (long) buf.position() + n;
            if (cap > MAX_FRAME + 4) {
                throw new IllegalStateException("frame would exceed " + MAX_FRAME + " bytes");
            }
            ByteBuffer b = ByteBuffer.allocate((int) cap);
            buf.flip();
            b.put(buf);
            buf = b;
        }
        return this;
    }

    public SimFrame u8(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    public SimFrame u16(int v) {
        ensure(2);
        buf.putShort((short) v);
        return this;
    }

    public SimFrame i32(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    public SimFrame i64(long v) {
        ensure(8);
        buf.putLong(v);
        return this;
    }

    public SimFrame bool(boolean v) {
        return u8(v ? 1 : 0);
    }

    public SimFrame bytes(byte[] v) {
        i32(v.length);
        ensure(v.length);
        buf.put(v);
        return this;
    }

    /** Length-prefixed copy of the remaining bytes of {@code v} (its position is unchanged). */
    public SimFrame bytes(ByteBuffer v) {
        int n = v.remaining();
        i32(n);
        ensure(n);
        buf.put(v.duplicate());
        return this;
    }

    public SimFrame str(String v) {
        return bytes(v.getBytes(StandardCharsets.UTF_8));
    }

    public SimFrame optStr(Optional<String> v) {
        bool(v.isPresent());
        v.ifPresent(this::str);
        return this;
    }

    public SimFrame longs(long[] v) {
        i32(v.length);
        ensure(8 * v.length);
        buf.asLongBuffer().put(v);
        buf.position(buf.position() + 8 * v.length);
        return this;
    }

    public SimFrame bytesList(List<byte[]> v) {
        i32(v.size());
        for (byte[] b : v) {
            bytes(b);
        }
        return this;
    }

    /**
     * Sends the frame followed by {@code tail} as its last, length-prefixed field, without copying {@code tail} into
     * the frame (a direct buffer goes from the caller's memory to the socket in one copy).
     */
    public void send(SocketChannel ch, ByteBuffer tail) throws IOException {
        ByteBuffer t = tail.duplicate();
        i32(t.remaining());
        ByteBuffer out = buf.duplicate();
        out.flip();
        long total = (long) out.remaining() - 4 + t.remaining();
        if (total > MAX_FRAME) {
            throw new IllegalStateException("frame would exceed " + MAX_FRAME + " bytes");
        }
        out.putInt(0, (int) total);
        ByteBuffer[] parts = {out, t};
        while (out.hasRemaining() || t.hasRemaining()) {
            ch.write(parts);
        }
    }

    /** Sends the frame (length patched in) on {@code ch}. */
    public void send(SocketChannel ch) throws IOException {
        ByteBuffer out = buf.duplicate();
        out.flip();
        out.putInt(0, out.remaining() - 4);
        while (out.hasRemaining()) {
            ch.write(out);
        }
    }

    // ---- reading ----

    private void need(int n) throws IOException {
        if (buf.remaining() < n) {
            throw new IOException("sim frame truncated: need " + n + " bytes, " + buf.remaining() + " left");
        }
    }

    public int u8() throws IOException {
        need(1);
        return buf.get() & 0xff;
    }

    public int u16() throws IOException {
        need(2);
        return buf.getShort() & 0xffff;
    }

    public int i32() throws IOException {
        need(4);
        return buf.getInt();
    }

    public long i64() throws IOException {
        need(8);
        return buf.getLong();
    }

    public boolean bool() throws IOException {
        return u8() != 0;
    }

    private int length() throws IOException {
        int n = i32();
        if (n < 0 || n > buf.remaining()) {
            throw new IOException("sim frame field of " + n + " bytes exceeds the " + buf.remaining() + " left");
        }
        return n;
    }

    public byte[] bytes() throws IOException {
        byte[] b = new byte[length()];
        buf.get(b);
        return b;
    }

    /** A read-only view of a length-prefixed field, without copying. */
    public ByteBuffer view() throws IOException {
        int n = length();
        ByteBuffer v = buf.slice(buf.position(), n).asReadOnlyBuffer();
        buf.position(buf.position() + n);
        return v;
    }

    public String str() throws IOException {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    public Optional<String> optStr() throws IOException {
        return bool() ? Optional.of(str()) : Optional.empty();
    }

    public long[] longs() throws IOException {
        int n = i32();
        if (n < 0 || (long) n * 8 > buf.remaining()) {
            throw new IOException("sim frame long array of " + n + " exceeds the frame");
        }
        long[] v = new long[n];
        buf.asLongBuffer().get(v);
        buf.position(buf.position() + 8 * n);
        return v;
    }

    public List<byte[]> bytesList() throws IOException {
        int n = i32();
        if (n < 0 || n > 1024) {
            throw new IOException("sim frame list of " + n + " entries is out of range");
        }
        List<byte[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(bytes());
        }
        return out;
    }

    /** Reads one frame's payload from {@code ch}; EOFException at a clean end of stream. */
    public static ByteBuffer receive(SocketChannel ch) throws IOException {
        return receive(ch, null);
    }

    /**
     * Receives one frame's payload into {@code reuse} if it is large enough (a direct buffer: the socket reads into it
     * without an intermediate copy), else into a new buffer. The payload is valid until the next receive into it.
     */
    public static ByteBuffer receive(SocketChannel ch, ByteBuffer reuse) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(4);
        readFully(ch, len, true);
        int n = len.getInt(0);
        if (n < 0 || n > MAX_FRAME) {
            throw new IOException("sim frame of " + n + " bytes is out of range (limit " + MAX_FRAME + ")");
        }
        ByteBuffer payload;
        if (reuse != null && reuse.capacity() >= n) {
            payload = reuse.clear().limit(n);
        } else {
            payload = ByteBuffer.allocate(n);
        }
        readFully(ch, payload, false);
        payload.flip();
        return payload;
    }

    private static void readFully(SocketChannel ch, ByteBuffer b, boolean atStart) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                if (atStart && b.position() == 0) {
                    throw new EOFException("peer closed the connection");
                }
                throw new IOException("connection closed inside a frame");
            }
        }
    }
}
