package org.sealift.protocol.attest;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;

/**
 * What a verifier remembers about a host's log after a successful verification (size, head hash, counter), so the
 * next verification can detect a rollback even if dom0 also rolled back the hypervisor's sealed state. Text form, one
 * line: {@code sealift-log-checkpoint 1 host=<id> size=<n> head=<hex> counter=<n>}.
 */
public record LogCheckpoint(String hostId, long size, String headHashHex, long counter) {

    private static final Pattern LINE = Pattern.compile(
            "sealift-log-checkpoint 1 host=(\\S+) size=(\\d+) head=([0-9a-f]{64}) counter=(\\d+)\\s*");

    public LogCheckpoint {
        Certificates.requireHostId(hostId);
        Objects.requireNonNull(headHashHex, "headHashHex");
        Hex.decode(headHashHex, 32, "head hash");
    }

    public byte[] headHash() {
        return Hex.decode(headHashHex);
    }

    public String toLine() {
        return "sealift-log-checkpoint 1 host=" + hostId + " size=" + Long.toUnsignedString(size) + " head="
                + headHashHex + " counter=" + Long.toUnsignedString(counter);
    }

    public static LogCheckpoint parseLine(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a log checkpoint line: " + line);
        }
        return new LogCheckpoint(m.group(1), Long.parseUnsignedLong(m.group(2)), m.group(3),
                Long.parseUnsignedLong(m.group(4)));
    }
}
