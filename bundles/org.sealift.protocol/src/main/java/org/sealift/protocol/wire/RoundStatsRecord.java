package org.sealift.protocol.wire;

import java.nio.ByteBuffer;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Body of the optional ROUND_STATS record (docs/protocol.md §4.4): what one pre-copy round sent, for progress
 * displays at the destination. Not authenticated, so nothing decides on it.
 */
public record RoundStatsRecord(int round, long normalPages, long protectedPages, long zeroPages, long bytes,
        long dirtyPagesLeft, long durationNanos, long dirtyRatePagesPerSecond) {

    public static final int BODY_LENGTH = 64;

    public byte[] encode() {
        return ByteBuffer.allocate(BODY_LENGTH).putInt(round).putInt(0).putLong(normalPages)
                .putLong(protectedPages).putLong(zeroPages).putLong(bytes).putLong(dirtyPagesLeft)
                .putLong(durationNanos).putLong(dirtyRatePagesPerSecond).array();
    }

    public static RoundStatsRecord decode(byte[] body) throws ProtocolException {
        if (body.length != BODY_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED,
                    "ROUND_STATS body is " + BODY_LENGTH + " octets, got " + body.length);
        }
        ByteBuffer b = ByteBuffer.wrap(body);
        int round = b.getInt();
        if (b.getInt() != 0) {
            throw new ProtocolException(Reason.MALFORMED, "ROUND_STATS reserved field is not zero");
        }
        return new RoundStatsRecord(round, b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong());
    }
}
