package org.sealift.agent.spi;

import java.nio.ByteBuffer;

import org.sealift.protocol.ProtocolException;

/**
 * The destination hypervisor's side of one secure migration, into an INCOMING domain it created. Normal pages are
 * written by the agent through {@link HypervisorBackend#mapGuestMemory}; protected pages and vCPU contexts arrive
 * only as sealed records through {@link #acceptSealed}. The domain runs only after a valid RELEASE.
 */
public interface DestinationSession {

    /** The migration id, known after {@link #onHello}; before that a NOT_FOUND is thrown. */
    MigrationId id() throws HypervisorException;

    /** The INCOMING domain. */
    int domId();

    /**
     * Verifies HELLO (chain, policy, VM id = this domain's) → HELLO_REPLY.
     *
     * @param sourceStreamHeader the 16-byte stream header read from the source's stream (signed into the transcript)
     * @param hello              the complete HELLO record
     */
    ProtocolMessage onHello(byte[] sourceStreamHeader, byte[] hello) throws HypervisorException;

    /** {@link #onHello(byte[], byte[])} for a source stream that began with the secure v1 header. */
    default ProtocolMessage onHello(byte[] hello) throws HypervisorException {
        return onHello(org.sealift.protocol.wire.StreamHeader.secureV1().encode(), hello);
    }

    /** Verifies FINISH (signature, key-confirmation MAC); sealed records are accepted only after it. */
    void onFinish(byte[] finish) throws HypervisorException;

    /**
     * Opens sealed page / vCPU records (one or more complete records back to back). Keeps only the newest version per
     * pfn; an older one is dropped and counted. A record that does not authenticate (tampered, other migration, VM,
     * process or pfn) fails with {@code PROTOCOL}/{@code TAMPERED}.
     */
    SealedAcceptance acceptSealed(ByteBuffer records) throws HypervisorException;

    /**
     * Verifies the MANIFEST and every protected page and vCPU context against it (missing, stale, extra or altered
     * all fail with {@code PROTOCOL}/{@code MANIFEST_MISMATCH}) → READY, recorded in sealed state. Starts the READY
     * deadline.
     */
    ProtocolMessage onManifest(byte[] manifest) throws HypervisorException;

    /** Verifies RELEASE, records RESUMING, resumes the VM → DONE. Refused after ABORT, after the deadline, in doubt. */
    ProtocolMessage onRelease(byte[] release) throws HypervisorException;

    /** Records ABORT_BY_DESTINATION and zeroizes the copy. Refused once RESUMING is recorded, or when in doubt. */
    ProtocolMessage abort(ProtocolException.Reason reason, String detail) throws HypervisorException;

    /** Verifies the source's ABORT; the copy is zeroized and never runs. */
    void acceptAbort(byte[] abortBySource) throws HypervisorException;

    MigrationDecision decision() throws HypervisorException;
}
