package org.sealift.protocol.pki;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Reads {@link CanonicalWriter} encodings from untrusted bytes. It never trusts a length: every length and count is
 * checked against the bytes that remain and against a caller-given limit before anything is allocated, and every
 * failure is a {@link ProtocolException} with {@link Reason#MALFORMED} that says what and where.
 */
public final class CanonicalReader {

    private final byte[] data;
    private final String what;
    private int pos;

    /** @param what names the structure in messages ("policy", "attestation record") */
    public CanonicalReader(byte[] data, String what) {
        this.data = data;
        this.what = what;
    }

    public int position() {
        return pos;
    }

    public int remaining() {
        return data.length - pos;
    }

    private void need(int n, String field) throws ProtocolException {
        if (n < 0 || n > remaining()) {
            throw malformed(field + " needs " + n + " bytes but only " + remaining() + " remain");
        }
    }

    public ProtocolException malformed(String detail) {
        return new ProtocolException(Reason.MALFORMED, what + " is malformed at byte " + pos + ": " + detail);
    }

    public int u8(String field) throws ProtocolException {
        need(1, field);
        return data[pos++] & 0xff;
    }

    public int u16(String field) throws ProtocolException {
        need(2, field);
        int v = ((data[pos] & 0xff) << 8) | (data[pos + 1] & 0xff);
        pos += 2;
        return v;
    }

    public long u32(String field) throws ProtocolException {
        need(4, field);
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | (data[pos + i] & 0xff);
        }
        pos += 4;
        return v;
    }

    public long u64(String field) throws ProtocolException {
        need(8, field);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (data[pos + i] & 0xff);
        }
        pos += 8;
        return v;
    }

    public byte[] fixed(int n, String field) throws ProtocolException {
        need(n, field);
        byte[] b = Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return b;
    }

    /** Requires the next bytes to equal {@code expected} (magic numbers). */
    public void expect(byte[] expected, String field) throws ProtocolException {
        if (remaining() < expected.length || !Arrays.equals(data, pos, pos + expected.length, expected, 0, expected.length)) {
            throw malformed(field + " is missing or wrong (expected \"" + new String(expected, StandardCharsets.US_ASCII)
                    + "\")");
        }
        pos += expected.length;
    }

    /** u16 length + strict UTF-8, at most {@code maxBytes}. */
    public String str(int maxBytes, String field) throws ProtocolException {
        int len = u16(field + " length");
        if (len > maxBytes) {
            throw malformed(field + " is " + len + " bytes, limit " + maxBytes);
        }
        need(len, field);
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data, pos, len));
            pos += len;
            return cb.toString();
        } catch (CharacterCodingException e) {
            throw malformed(field + " is not valid UTF-8");
        }
    }

    /** u32 length + bytes, at most {@code maxBytes}. */
    public byte[] blob(int maxBytes, String field) throws ProtocolException {
        long len = u32(field + " length");
        if (len > maxBytes) {
            throw malformed(field + " is " + len + " bytes, limit " + maxBytes);
        }
        return fixed((int) len, field);
    }

    /**
     * Reads an element count and checks it against {@code max} and against what the remaining bytes could hold
     * ({@code minElementBytes} each), so that a forged count cannot make the caller allocate.
     */
    public int count32(int max, int minElementBytes, String field) throws ProtocolException {
        long n = u32(field + " count");
        return checkCount(n, max, minElementBytes, field);
    }

    public int count16(int max, int minElementBytes, String field) throws ProtocolException {
        long n = u16(field + " count");
        return checkCount(n, max, minElementBytes, field);
    }

    private int checkCount(long n, int max, int minElementBytes, String field) throws ProtocolException {
        if (n > max) {
            throw malformed(field + " count " + n + " exceeds the limit " + max);
        }
        if (n * (long) minElementBytes > remaining()) {
            throw malformed(field + " count " + n + " cannot fit in the " + remaining() + " remaining bytes");
        }
        return (int) n;
    }

    public void expectEnd() throws ProtocolException {
        if (remaining() != 0) {
            throw malformed(remaining() + " unexpected trailing bytes");
        }
    }
}
