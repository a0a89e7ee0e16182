package org.sealift.agent.tls;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The few bytes that open a channel connection after the TLS handshake, before the Sealift stream (docs/api.md,
 * "Agent channel"). The client says what the connection is for; the server accepts or refuses with a reason, so a
 * refused client gets a sentence instead of a reset.
 *
 * <pre>
 * client: "SLFTCHAN" (8) ‖ u16 version = 1 ‖ u16 label length (1..255) ‖ label (UTF-8)
 * server: u8 status (0 accepted, 1 refused) ‖ u16 message length (0..1024) ‖ message (UTF-8)
 * </pre>
 */
final class ChannelPreamble {

    static final byte[] MAGIC = "SLFTCHAN".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int MAX_LABEL = 255;
    static final int MAX_MESSAGE = 1024;

    private ChannelPreamble() {
    }

    static void checkLabel(String label) {
        byte[] b = label.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0 || b.length > MAX_LABEL || label.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("channel label must be 1-255 bytes of printable UTF-8, got \""
                    + label + "\"");
        }
    }

    static void writeHello(OutputStream out, String label) throws IOException {
        checkLabel(label);
        byte[] b = label.getBytes(StandardCharsets.UTF_8);
        DataOutputStream d = new DataOutputStream(out);
        d.write(MAGIC);
        d.writeShort(VERSION);
        d.writeShort(b.length);
        d.write(b);
        d.flush();
    }

    /** The label; an IOException naming what is wrong with the bytes. */
    static String readHello(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        byte[] magic = new byte[MAGIC.length];
        d.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("the peer did not start with the channel preamble (is it a Sealift agent of this"
                    + " version?)");
        }
        int version = d.readUnsignedShort();
        if (version != VERSION) {
            throw new IOException("the peer speaks channel preamble version " + version + ", this agent "
                    + VERSION + "; upgrade the older agent");
        }
        int len = d.readUnsignedShort();
        if (len == 0 || len > MAX_LABEL) {
            throw new IOException("channel label length " + len + " is outside 1.." + MAX_LABEL);
        }
        byte[] b = new byte[len];
        d.readFully(b);
        String label = new String(b, StandardCharsets.UTF_8);
        if (label.chars().anyMatch(Character::isISOControl)) {
            throw new IOException("channel label contains control characters");
        }
        return label;
    }

    static void writeReply(OutputStream out, String refusal) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        byte[] msg = refusal == null ? new byte[0] : truncate(refusal);
        d.writeByte(refusal == null ? 0 : 1);
        d.writeShort(msg.length);
        d.write(msg);
        d.flush();
    }

    /** null if accepted, else the server's reason. */
    static String readReply(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int status;
        try {
            status = d.readUnsignedByte();
        } catch (EOFException e) {
            throw new EOFException("the peer closed the connection before answering the channel preamble");
        }
        int len = d.readUnsignedShort();
        if (status > 1 || len > MAX_MESSAGE) {
            throw new IOException("the peer's channel reply is malformed (status " + status + ", length " + len + ")");
        }
        byte[] b = new byte[len];
        d.readFully(b);
        if (status == 0) {
            return null;
        }
        return len == 0 ? "no reason given" : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] truncate(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= MAX_MESSAGE ? b : Arrays.copyOf(b, MAX_MESSAGE);
    }
}
