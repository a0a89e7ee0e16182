package org.sealift.agent.engine;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A {@link Transport} over blocking NIO channels: a socket, two pipes, or the streams of a TLS socket. Direct
 * buffers written to a socket channel go to the kernel without an extra copy, which matters at GB/s.
 */
public final class ChannelTransport implements Transport {

    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final Runnable shutdownOutput;
    private final AutoCloseable[] resources;
    private final String peer;
    private volatile boolean closed;

    public ChannelTransport(ReadableByteChannel in, WritableByteChannel out, Runnable shutdownOutput, String peer,
            AutoCloseable... resources) {
        this.in = in;
        this.out = out;
        this.shutdownOutput = shutdownOutput;
        this.peer = peer;
        this.resources = resources;
    }

    /** A connected socket (blocking mode). */
    public static ChannelTransport of(SocketChannel socket) throws IOException {
        socket.configureBlocking(true);
        socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
        String peer = String.valueOf(socket.getRemoteAddress());
        return new ChannelTransport(socket, socket, () -> {
            try {
                socket.shutdownOutput();
            } catch (IOException e) {
                // the socket is gone already; the peer sees the end of the stream either way
            }
        }, peer, socket);
    }

    /**
     * A byte stream pair such as a TLS socket's; closing the transport closes both. Writes reach the stream in blocks
     * of up to {@link StreamChannels#BLOCK} octets (a TLS socket cuts them into full 16 KiB records), not the 8 KiB
     * pieces of {@link Channels#newChannel}, which would make twice as many records and calls for the same data.
     */
    public static ChannelTransport of(InputStream inStream, OutputStream outStream, String peer,
            AutoCloseable socket) {
        return new ChannelTransport(new StreamChannels.In(inStream), new StreamChannels.Out(outStream), () -> {
            try {
                outStream.flush();
                outStream.close();
            } catch (IOException e) {
                // as for sockets: the peer notices the end either way
            }
        }, peer, socket, inStream, outStream);
    }

    /** Two connected ends over a loopback TCP connection (what the benchmark and the labs use). */
    public static Transport[] loopbackPair() throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel a = SocketChannel.open(server.getLocalAddress());
            SocketChannel b = server.accept();
            for (SocketChannel s : new SocketChannel[] {a, b}) {
                // 1 MiB each way: enough for full speed on loopback; more would only lengthen the backlog that
                // the destination still has to apply after the source paused the VM
                s.setOption(StandardSocketOptions.SO_SNDBUF, 1 << 20);
                s.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            }
            return new Transport[] {of(a), of(b)};
        }
    }

    /** Two connected ends over two in-process pipes. */
    public static Transport[] pipePair() throws IOException {
        Pipe ab = Pipe.open();
        Pipe ba = Pipe.open();
        Transport a = new ChannelTransport(ba.source(), ab.sink(), () -> closeQuietly(ab.sink()), "pipe-b",
                ba.source(), ab.sink());
        Transport b = new ChannelTransport(ab.source(), ba.sink(), () -> closeQuietly(ba.sink()), "pipe-a",
                ab.source(), ba.sink());
        return new Transport[] {a, b};
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // closing is best effort: the other end sees EOF or an error either way
        }
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            if (closed) {
                throw new IOException("transport to " + peer + " is closed");
            }
            out.write(src);
        }
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            if (closed) {
                throw new IOException("transport to " + peer + " is closed");
            }
            int n = in.read(dst);
            if (n < 0) {
                throw new EOFException("stream from " + peer + " ended with " + dst.remaining()
                        + " more bytes expected");
            }
        }
    }

    @Override
    public void shutdownOutput() {
        shutdownOutput.run();
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public void close() {
        closed = true;
        for (AutoCloseable c : resources) {
            closeQuietly(c);
        }
    }

    /**
     * Channels over blocking streams, moving data in large blocks. As with {@link Channels#newChannel}, a thread
     * interrupted while blocked in one closes the channel and its stream, which unblocks it (the engine interrupts a
     * writer stuck on a peer that stopped reading).
     */
    static final class StreamChannels {

        /** Octets per stream call: 64 full TLS records. */
        static final int BLOCK = 1 << 20;

        private StreamChannels() {
        }

        static final class In extends java.nio.channels.spi.AbstractInterruptibleChannel
                implements ReadableByteChannel {
            private final InputStream in;
            private byte[] block = new byte[0];

            In(InputStream in) {
                this.in = in;
            }

            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!isOpen()) {
                    throw new java.nio.channels.ClosedChannelException();
                }
                int want = Math.min(dst.remaining(), BLOCK);
                if (want == 0) {
                    return 0;
                }
                int n = 0;
                boolean done = false;
                try {
                    begin();
                    if (dst.hasArray()) {
                        n = in.read(dst.array(), dst.arrayOffset() + dst.position(), want);
                        if (n > 0) {
                            dst.position(dst.position() + n);
                        }
                    } else {
                        if (block.length < want) {
                            block = new byte[Math.max(want, 64 * 1024)];
                        }
                        n = in.read(block, 0, want);
                        if (n > 0) {
                            dst.put(block, 0, n);
                        }
                    }
                    done = true;
                    return n;
                } finally {
                    end(done);
                }
            }

            @Override
            protected void implCloseChannel() throws IOException {
                in.close();
            }
        }

        static final class Out extends java.nio.channels.spi.AbstractInterruptibleChannel
                implements WritableByteChannel {
            private final OutputStream out;
            private byte[] block = new byte[0];

            Out(OutputStream out) {
                this.out = out;
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                if (!isOpen()) {
                    throw new java.nio.channels.ClosedChannelException();
                }
                int n = Math.min(src.remaining(), BLOCK);
                boolean done = false;
                try {
                    begin();
                    if (src.hasArray()) {
                        out.write(src.array(), src.arrayOffset() + src.position(), n);
                    } else {
                        if (block.length < n) {
                            block = new byte[Math.max(n, 64 * 1024)];
                        }
                        src.get(src.position(), block, 0, n);
                        out.write(block, 0, n);
                    }
                    src.position(src.position() + n);
                    done = true;
                    return n;
                } finally {
                    end(done);
                }
            }

            @Override
            protected void implCloseChannel() throws IOException {
                out.close();
            }
        }
    }
}
