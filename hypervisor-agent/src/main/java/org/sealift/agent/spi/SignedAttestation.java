package org.sealift.agent.spi;

/**
 * One hypervisor's signed part of a migration's attestation record: {@code fields} is the canonical encoding of the
 * fields this hypervisor computed itself (ids, hosts, AK fingerprints, measurements, policy serial, suite, its
 * timestamps, outcome and reason, its anomaly counts, transcript hash, manifest digest) plus the agent-reported
 * statistics it was given, marked as such; {@code signature} is its AK signature over {@code fields}.
 */
public record SignedAttestation(MigrationRole role, byte[] fields, byte[] signature) {

    public SignedAttestation {
        fields = fields.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] fields() {
        return fields.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }
}
