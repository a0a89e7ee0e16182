package org.sealift.agent.engine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The byte stream between two agents that carries the Sealift stream (stream header, then records). The agents
 * trust it with nothing: in secure mode everything that matters is sealed or signed end to end by the hypervisors.
 * Implementations: a loopback socket or a pipe (tests, benchmark, labs), TLS between agents (production), and the
 * attack interposer sitting in the middle.
 *
 * <p>One thread reads and one thread writes at a time. {@link #close()} may be called from any thread and makes
 * blocked reads and writes fail, which is how deadlines interrupt a stalled peer.
 */
public interface Transport extends Closeable {

    /** Writes all remaining bytes of {@code src}. */
    void write(ByteBuffer src) throws IOException;

    /** Reads exactly {@code dst.remaining()} bytes; {@link java.io.EOFException} when the stream ends first. */
    void readFully(ByteBuffer dst) throws IOException;

    /** Signals the end of what this side sends; the peer's reads then end after the buffered bytes. */
    void shutdownOutput() throws IOException;

    /** Who is on the other side, for messages. */
    String peer();

    @Override
    void close();
}
