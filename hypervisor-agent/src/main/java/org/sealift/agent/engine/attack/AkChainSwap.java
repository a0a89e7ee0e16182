package org.sealift.agent.engine.attack;

import java.nio.ByteBuffer;
import java.util.List;
import org.sealift.protocol.wire.RecordType;

/**
 * dom0 puts a certificate chain of its choosing where a handshake record carries the sender's AK chain: in HELLO
 * (from octet 112 to the end) or in HELLO_REPLY (from octet 96, before the signature and MAC), layouts of
 * docs/protocol-handshake.md §2.1–2.3. The chain is public, so any dom0 can do this; what it cannot do is make the
 * receiving hypervisor accept a chain the cluster CA did not issue for an endorsed attestation key.
 */
public final class AkChainSwap {

    static final int HELLO_CHAIN_OFFSET = 112;
    static final int REPLY_CHAIN_OFFSET = 96;

    private AkChainSwap() {
    }

    /** A stream attack that replaces the chain in every {@code type} record (HELLO or HELLO_REPLY) with {@code chain}. */
    public static StreamInterposer.Tamper replacing(RecordType type, List<byte[]> chain) {
        offset(type);
        return (r, out) -> {
            if (r.is(type)) {
                r.body = replace(type, r.body, chain);
            }
            out.forward(r);
        };
    }

    /** {@code body} of a HELLO or HELLO_REPLY with its AK chain replaced by {@code chain}. */
    public static byte[] replace(RecordType type, byte[] body, List<byte[]> chain) {
        int at = offset(type);
        int end = at + encodedLength(body, at);
        byte[] replacement = encode(chain);
        return ByteBuffer.allocate(body.length - (end - at) + replacement.length).put(body, 0, at).put(replacement)
                .put(body, end, body.length - end).array();
    }

    private static int offset(RecordType type) {
        return switch (type) {
            case HELLO -> HELLO_CHAIN_OFFSET;
            case HELLO_REPLY -> REPLY_CHAIN_OFFSET;
            default -> throw new IllegalArgumentException(type + " carries no AK chain; HELLO and HELLO_REPLY do");
        };
    }

    /** Octets of the chain at {@code at}: count, reserved, then per entry length, reserved, DER, padding to 8. */
    private static int encodedLength(byte[] body, int at) {
        ByteBuffer b = ByteBuffer.wrap(body);
        int count = b.getInt(at);
        int p = at + 8;
        for (int i = 0; i < count; i++) {
            p += 8 + padded(b.getInt(p));
        }
        return p - at;
    }

    static byte[] encode(List<byte[]> chain) {
        int length = 8;
        for (byte[] der : chain) {
            length += 8 + padded(der.length);
        }
        ByteBuffer b = ByteBuffer.allocate(length).putInt(chain.size()).putInt(0);
        for (byte[] der : chain) {
            b.putInt(der.length).putInt(0).put(der).position(b.position() + padded(der.length) - der.length);
        }
        return b.array();
    }

    private static int padded(int n) {
        return (n + 7) & ~7;
    }
}
