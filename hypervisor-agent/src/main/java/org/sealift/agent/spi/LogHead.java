package org.sealift.agent.spi;

/**
 * The head of this host's attestation log as the hypervisor itself tracks it (dom0 stores the log, the hypervisor
 * remembers its size and head hash in sealed state), signed with the AK over (host, size, hash, counter, nonce, AK
 * fingerprint) when a verifier asks with a fresh nonce: a truncated or rolled-back log no longer matches.
 * {@code signed ‖ signature} is the {@code org.sealift.protocol.attest.SignedHead} encoding a LogVerifier checks.
 *
 * @param index     number of entries the hypervisor has seen appended (0 = empty log)
 * @param hash      hash of the newest entry ({@code AttestationLog.genesis(hostId)} for the empty log)
 * @param counter   the hypervisor's monotonic counter at signing time
 * @param nonce     the verifier's nonce (empty for an unsigned head returned by an append)
 * @param signed    the exact bytes signed (empty for an unsigned head)
 * @param signature the AK signature over {@code signed} (empty for an unsigned head)
 */
public record LogHead(long index, byte[] hash, long counter, byte[] nonce, byte[] signed, byte[] signature) {

    public LogHead {
        hash = hash.clone();
        nonce = nonce.clone();
        signed = signed.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] hash() {
        return hash.clone();
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    @Override
    public byte[] signed() {
        return signed.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }
}
