package org.sealift.protocol.handshake;

import java.util.Objects;
import java.util.UUID;
import org.sealift.protocol.pki.AttestedIdentity;

/**
 * What a completed handshake establishes: the session keys, who the peer is (attested by the cluster CA and allowed
 * by the policy), the transcript hash that the commit tokens and the attestation record name, and the migration.
 * Closing it destroys the session keys; nothing here is ever persisted.
 */
public final class HandshakeResult implements AutoCloseable {

    private final Role role;
    private final MigrationId migrationId;
    private final UUID vmId;
    private final byte[] transcriptHash;
    private final SessionKeys keys;
    private final AttestedIdentity peer;
    private final int version;
    private final Suite suite;
    private final long policySerial;

    HandshakeResult(Role role, MigrationId migrationId, UUID vmId, byte[] transcriptHash, SessionKeys keys,
            AttestedIdentity peer, int version, Suite suite, long policySerial) {
        this.role = role;
        this.migrationId = migrationId;
        this.vmId = vmId;
        this.transcriptHash = transcriptHash.clone();
        this.keys = Objects.requireNonNull(keys);
        this.peer = peer;
        this.version = version;
        this.suite = suite;
        this.policySerial = policySerial;
    }

    /** This host's role in the migration. */
    public Role role() {
        return role;
    }

    public MigrationId migrationId() {
        return migrationId;
    }

    public UUID vmId() {
        return vmId;
    }

    /** The 32-byte transcript hash (docs/protocol-handshake.md §3). */
    public byte[] transcriptHash() {
        return transcriptHash.clone();
    }

    public SessionKeys keys() {
        return keys;
    }

    /** The other hypervisor, as validated against the cluster CA and this host's policy. */
    public AttestedIdentity peer() {
        return peer;
    }

    /** The protocol version both stream headers and HELLO agreed on. */
    public int version() {
        return version;
    }

    public Suite suite() {
        return suite;
    }

    /** The policy serial both hosts ran with (they must be equal for the handshake to succeed). */
    public long policySerial() {
        return policySerial;
    }

    /** Destroys the session keys. */
    @Override
    public void close() {
        keys.close();
    }

    @Override
    public String toString() {
        return "handshake " + role.name().toLowerCase() + " of migration " + migrationId + " with " + peer;
    }
}
