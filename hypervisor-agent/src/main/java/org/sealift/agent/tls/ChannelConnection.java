package org.sealift.agent.tls;

import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.time.Duration;

import javax.net.ssl.SSLSocket;

/**
 * One migration's connection on the agent channel: a TLS 1.3 socket between two agents, both authenticated with
 * their agent TLS certificates, after the channel preamble. The engine runs the Sealift stream over {@link #in()}
 * and {@link #out()}. Closing {@link #out()} ends only this side's stream (a TLS 1.3 half-close), so the peer reads
 * to the end of the stream and can still answer; {@link #close()} ends the connection.
 */
public final class ChannelConnection implements Closeable {

    private final SSLSocket socket;
    private final PeerIdentity peer;
    private final String label;
    private final InputStream in;
    private final OutputStream out;
    private volatile boolean closed;

    ChannelConnection(SSLSocket socket, PeerIdentity peer, String label) throws IOException {
        this.socket = socket;
        this.peer = peer;
        this.label = label;
        this.in = new UnclosableInput(socket.getInputStream());
        this.out = new HalfClosingOutput(socket.getOutputStream(), this);
    }

    /** The authenticated agent on the other end. */
    public PeerIdentity peer() {
        return peer;
    }

    /** What the connecting side said this connection is for (e.g. a migration handle), as sent in the preamble. */
    public String label() {
        return label;
    }

    public InputStream in() {
        return in;
    }

    /** Writes go straight to TLS records: write in large blocks. {@code close()} half-closes. */
    public OutputStream out() {
        return out;
    }

    /** Ends what this side sends (TLS close_notify); reading goes on until the peer ends its side. */
    public void shutdownOutput() throws IOException {
        if (!closed && !socket.isOutputShutdown()) {
            socket.shutdownOutput();
        }
    }

    /** A read blocked longer than this fails with a SocketTimeoutException; zero waits forever. */
    public void setReadTimeout(Duration timeout) throws SocketException {
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }

    public boolean isClosed() {
        return closed;
    }

    /** "agent h2 (127.0.0.1:7444) for 'mig-1'". */
    public String describe() {
        return peer.describe() + " (" + socket.getInetAddress().getHostAddress() + ":" + socket.getPort()
                + ") for '" + label + "'";
    }

    /** Closes the connection from any thread; blocked reads and writes fail. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            socket.close();
        } catch (IOException e) {
            // the socket is unusable either way
        }
    }

    private static final class UnclosableInput extends InputStream {
        private final InputStream in;

        UnclosableInput(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return in.available();
        }

        /** Closing the input alone would close the socket (JSSE does), which is the connection's job. */
        @Override
        public void close() {
        }
    }

    private static final class HalfClosingOutput extends FilterOutputStream {
        private final ChannelConnection owner;

        HalfClosingOutput(OutputStream out, ChannelConnection owner) {
            super(out);
            this.owner = owner;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len); // FilterOutputStream would write byte by byte
        }

        @Override
        public void close() throws IOException {
            out.flush();
            owner.shutdownOutput();
        }
    }
}
