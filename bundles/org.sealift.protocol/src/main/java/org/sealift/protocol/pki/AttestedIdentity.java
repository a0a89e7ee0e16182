package org.sealift.protocol.pki;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.Optional;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * A peer hypervisor as established by {@link AkValidator}: its host id, AK, AK fingerprint and measurement, all taken
 * from a certificate that chains to the cluster CA and is allowed by the policy it was checked against.
 */
public final class AttestedIdentity {

    private final String hostId;
    private final X509Certificate certificate;
    private final byte[] akFingerprint;
    private final byte[] measurement;
    private final String measurementName;
    private final long policySerial;
    private final boolean dom0Held;

    AttestedIdentity(String hostId, X509Certificate certificate, byte[] measurement, String measurementName,
            long policySerial) {
        this(hostId, certificate, measurement, measurementName, policySerial, false);
    }

    AttestedIdentity(String hostId, X509Certificate certificate, byte[] measurement, String measurementName,
            long policySerial, boolean dom0Held) {
        this.dom0Held = dom0Held;
        this.hostId = hostId;
        this.certificate = certificate;
        this.akFingerprint = Certificates.fingerprint(certificate);
        this.measurement = measurement.clone();
        this.measurementName = measurementName;
        this.policySerial = policySerial;
    }

    public String hostId() {
        return hostId;
    }

    public PublicKey akPublicKey() {
        return certificate.getPublicKey();
    }

    /** SHA-256 of the AK's DER SubjectPublicKeyInfo (32 bytes). */
    public byte[] akFingerprint() {
        return akFingerprint.clone();
    }

    /** The hypervisor measurement bound into the AK certificate (32 bytes). */
    public byte[] measurement() {
        return measurement.clone();
    }

    /** The policy's label for the measurement, if it has one. */
    public Optional<String> measurementName() {
        return Optional.ofNullable(measurementName);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** Serial of the policy this identity was validated against. */
    public long policySerial() {
        return policySerial;
    }

    /**
     * True for a dom0-held record signer ({@link Dom0Signer}) accepted by {@link AkValidator#validateRecordSigner}:
     * what it signs records what the agents did, not what a hypervisor enforced. Always false from
     * {@link AkValidator#validate}, which refuses such keys.
     */
    public boolean dom0Held() {
        return dom0Held;
    }

    /** True iff {@code signature} is this AK's Ed25519 signature over {@code message}. */
    public boolean verifies(byte[] message, byte[] signature) {
        return AttestationSigner.verify(certificate.getPublicKey(), message, signature);
    }

    /** TAMPERED "&lt;what&gt; does not verify with the AK of host h2" unless the signature verifies. */
    public void requireSignature(byte[] message, byte[] signature, String what) throws ProtocolException {
        if (!verifies(message, signature)) {
            throw new ProtocolException(Reason.TAMPERED, what + " does not verify with the AK of host " + hostId
                    + " (" + Hex.abbrev(akFingerprint) + ")");
        }
    }

    @Override
    public String toString() {
        if (dom0Held) {
            return "host " + hostId + " dom0-held signer " + Hex.abbrev(akFingerprint) + " (no measurement)";
        }
        return "host " + hostId + " AK " + Hex.abbrev(akFingerprint) + " measurement " + Hex.abbrev(measurement)
                + (measurementName != null ? " (" + measurementName + ")" : "");
    }
}
