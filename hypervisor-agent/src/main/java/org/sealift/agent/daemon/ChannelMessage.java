package org.sealift.agent.daemon;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.List;

import org.sealift.agent.api.Json;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * The agents' own request and answer at the start of an agent-channel connection, before (for "migrate") the
 * Sealift stream: {@code u32 length ‖ JSON}. Agents are untrusted (PROTOCOL.md), so nothing here is believed by a
 * hypervisor: the VM configuration is checked against HELLO by the destination hypervisor, attestation fields are
 * recomputed before a countersignature, tokens verify by their AK signatures.
 *
 * <ul>
 * <li>{@code migrate}: the source offers a migration ({@code migrationId}, {@code vm}, {@code mode}, lab-only
 * {@code inject}); the destination prepares the incoming domain and answers; then the stream runs.</li>
 * <li>{@code attest}: the source proposes its hypervisor's signed record ({@code fields}, {@code signature},
 * {@code akChain}); the destination's hypervisor countersigns it.</li>
 * <li>{@code token}: a source in doubt after RELEASE re-serves its RELEASE token; the destination answers with its
 * DONE or ABORT token.</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChannelMessage(String type, String migrationId, VmSpec vm, String mode, String inject, byte[] fields,
        byte[] signature, List<byte[]> akChain, byte[] token, Boolean ok, String error, String message,
        List<String> notes, String outcome, String reason) {

    /** Large enough for any VM configuration and an AK chain; checked before allocating. */
    static final int MAX_BYTES = 256 * 1024;

    static ChannelMessage request(String type, String migrationId) {
        return new ChannelMessage(type, migrationId, null, null, null, null, null, null, null, null, null, null,
                null, null, null);
    }

    static ChannelMessage accepted() {
        return new ChannelMessage(null, null, null, null, null, null, null, null, null, true, null, null, null, null,
                null);
    }

    static ChannelMessage refused(String error, String message) {
        return new ChannelMessage(null, null, null, null, null, null, null, null, null, false, error, message, null,
                null, null);
    }

    ChannelMessage withVm(VmSpec v, String m, String attack) {
        return new ChannelMessage(type, migrationId, v, m, attack, fields, signature, akChain, token, ok, error,
                message, notes, outcome, reason);
    }

    ChannelMessage withAttestation(byte[] f, byte[] sig, List<byte[]> chain) {
        return new ChannelMessage(type, migrationId, vm, mode, inject, f, sig, chain, token, ok, error, message,
                notes, outcome, reason);
    }

    ChannelMessage withToken(byte[] t) {
        return new ChannelMessage(type, migrationId, vm, mode, inject, fields, signature, akChain, t, ok, error,
                message, notes, outcome, reason);
    }

    ChannelMessage withNotes(List<String> n) {
        return new ChannelMessage(type, migrationId, vm, mode, inject, fields, signature, akChain, token, ok, error,
                message, n, outcome, reason);
    }

    /** What the answering agent's own run of the migration ended with (informational: agents are untrusted). */
    ChannelMessage withOutcome(String o, String r) {
        return new ChannelMessage(type, migrationId, vm, mode, inject, fields, signature, akChain, token, ok, error,
                message, notes, o, r);
    }

    boolean isOk() {
        return Boolean.TRUE.equals(ok);
    }

    void writeTo(OutputStream out) throws IOException {
        byte[] json = Json.write(this);
        if (json.length > MAX_BYTES) {
            throw new IOException("channel message of " + json.length + " bytes exceeds " + MAX_BYTES);
        }
        out.write(ByteBuffer.allocate(4).putInt(json.length).array());
        out.write(json);
        out.flush();
    }

    /** Reads one message; the length is checked before anything is allocated. */
    static ChannelMessage readFrom(InputStream in, String from) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int length;
        try {
            length = d.readInt();
        } catch (EOFException e) {
            throw new EOFException(from + " closed the channel before sending its message");
        }
        if (length <= 0 || length > MAX_BYTES) {
            throw new IOException(from + " sent a channel message of " + Integer.toUnsignedString(length)
                    + " bytes; the limit is " + MAX_BYTES + " (is it a Sealift agent of this version?)");
        }
        byte[] body = new byte[length];
        d.readFully(body);
        try {
            return Json.mapper().readValue(body, ChannelMessage.class);
        } catch (JsonProcessingException e) {
            throw new IOException(from + " sent a malformed channel message: " + e.getOriginalMessage());
        }
    }
}
