package org.sealift.protocol.attest;

import java.util.Arrays;
import java.util.Objects;

import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;

/**
 * One end of a migration as the hypervisors saw it: host id, AK fingerprint and measurement. In a REJECTED record the
 * rejected side may be unknown: its fingerprint and measurement are then all zero ({@link #isIdentified()} false).
 */
public final class Party {

    static final byte[] NONE = new byte[32];

    private final String hostId;
    private final byte[] akFingerprint;
    private final byte[] measurement;

    public Party(String hostId, byte[] akFingerprint, byte[] measurement) {
        this.hostId = Certificates.requireHostId(hostId);
        this.akFingerprint = require32(akFingerprint, "AK fingerprint");
        this.measurement = require32(measurement, "measurement");
    }

    /** A host known by its validated AK certificate. */
    public static Party of(AttestedIdentity id) {
        return new Party(id.hostId(), id.akFingerprint(), id.measurement());
    }

    /** A host known only by the id it claimed (REJECTED records). */
    public static Party unidentified(String hostId) {
        return new Party(hostId, NONE, NONE);
    }

    private static byte[] require32(byte[] b, String what) {
        Objects.requireNonNull(b, what);
        if (b.length != 32) {
            throw new IllegalArgumentException(what + " must be 32 bytes, got " + b.length);
        }
        return b.clone();
    }

    public String hostId() {
        return hostId;
    }

    public byte[] akFingerprint() {
        return akFingerprint.clone();
    }

    public byte[] measurement() {
        return measurement.clone();
    }

    /** False when AK fingerprint and measurement are unknown (all zero). */
    public boolean isIdentified() {
        return !Arrays.equals(akFingerprint, NONE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Party p && hostId.equals(p.hostId) && Arrays.equals(akFingerprint, p.akFingerprint)
                && Arrays.equals(measurement, p.measurement);
    }

    @Override
    public int hashCode() {
        return Objects.hash(hostId, Arrays.hashCode(akFingerprint), Arrays.hashCode(measurement));
    }

    @Override
    public String toString() {
        return hostId + " (AK " + Hex.abbrev(akFingerprint) + ", measurement " + Hex.abbrev(measurement) + ")";
    }
}
