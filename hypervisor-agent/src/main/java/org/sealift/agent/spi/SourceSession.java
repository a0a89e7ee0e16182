package org.sealift.agent.spi;

import org.sealift.protocol.ProtocolException;

/**
 * The source hypervisor's side of one secure migration. The hypervisor runs the protocol (handshake, sealing,
 * manifest, commit); the agent forwards the records it is given and hands back what the destination sent. Each call
 * is checked against the migration's recorded state; a call out of order is refused with {@code REFUSED}.
 * A handle is only an id: it can be looked up again after an agent restart ({@link HypervisorBackend#sourceSession}).
 */
public interface SourceSession {

    MigrationId id();

    int domId();

    /** The HELLO made when the session began. */
    ProtocolMessage hello() throws HypervisorException;

    /**
     * Verifies the destination's chain, policy, signature and MAC, derives the session keys → FINISH.
     *
     * @param destinationStreamHeader the 16-byte stream header read from the destination's stream: both headers
     *        are in the signed transcript, so a rewritten header (downgrade) fails here
     * @param helloReply              the complete HELLO_REPLY record
     */
    ProtocolMessage onHelloReply(byte[] destinationStreamHeader, byte[] helloReply) throws HypervisorException;

    /** {@link #onHelloReply(byte[], byte[])} for a destination stream that began with the secure v1 header. */
    default ProtocolMessage onHelloReply(byte[] helloReply) throws HypervisorException {
        return onHelloReply(org.sealift.protocol.wire.StreamHeader.secureV1().encode(), helloReply);
    }

    /**
     * Seals protected pages (seal-on-map). A page is sealed once per version: a page not written since its last
     * sealing gets the cached record again; one written since (by the hypervisor's own write tracking, whatever the
     * dirty bitmap says) gets a new version. Refused for pfns that are not protected, before the handshake
     * completed, and after MANIFEST.
     */
    SealedBatch sealPages(long[] pfns, int offset, int count) throws HypervisorException;

    /** Seals every vCPU context of the (paused) VM. */
    SealedBatch sealVcpus() throws HypervisorException;

    /**
     * Seals the MANIFEST (per protected process: key, (pfn, version, tag) table, sealed vCPU context; counts; digest
     * over all tags) and freezes the protected processes. The VM must be paused. From now on a local resume first
     * records ABORT for this migration.
     */
    ProtocolMessage manifest() throws HypervisorException;

    /**
     * Verifies the destination's READY, records RELEASE in sealed state, locks the process keys → RELEASE. Refused
     * unless the state is FROZEN with no resume since the MANIFEST, and only for the holder of the VM's migration lock.
     */
    ProtocolMessage release(byte[] ready) throws HypervisorException;

    /** Verifies DONE: the migration is COMMITTED, the local copy is discarded and the lock released. */
    void onDone(byte[] done) throws HypervisorException;

    /**
     * Records ABORT_BY_SOURCE and releases the lock; the VM stays paused until the agent resumes it. Refused after
     * RELEASE (the destination may already run the VM): then only the destination's ABORT token or a fence can
     * give the VM back to this host.
     */
    ProtocolMessage abort(ProtocolException.Reason reason, String detail) throws HypervisorException;

    /** Verifies the destination's ABORT (in-session record or exported token); afterwards the VM may resume here. */
    void acceptAbort(byte[] abortByDestination) throws HypervisorException;

    /** The recorded state. */
    MigrationDecision decision() throws HypervisorException;
}
