package org.sealift.agent.spi;

import java.util.Optional;

/**
 * One migration as the hypervisor's sealed state records it, for recovery after a crash.
 *
 * @param id                 the migration id
 * @param role               this host's end
 * @param vmName             the VM
 * @param domId              the local domain, or -1 if it no longer exists
 * @param peerHostId         the other end's host id once the handshake authenticated it, else empty
 * @param state              the recorded decision
 * @param inDoubt            true if this host cannot decide alone (e.g. source RELEASED without DONE, destination
 *                           READY without RELEASE, or the sealed state was lost or rolled back)
 * @param detail             what the state means and what the operator can do ("export the RELEASE token and import
 *                           it at h2"), for people
 * @param manifestDigest     hex SHA-256 MANIFEST digest once a MANIFEST was sealed or verified (public: it is in
 *                           every token and record; an operator's fence names it)
 * @param peerAkFingerprint  hex SHA-256 fingerprint of the peer's attestation key once authenticated (the AK a fence
 *                           declares lost)
 */
public record MigrationDecision(MigrationId id, MigrationRole role, String vmName, int domId,
        Optional<String> peerHostId, MigrationState state, boolean inDoubt, String detail,
        Optional<String> manifestDigest, Optional<String> peerAkFingerprint) {

    public MigrationDecision {
        if (peerHostId == null) {
            peerHostId = Optional.empty();
        }
        if (manifestDigest == null) {
            manifestDigest = Optional.empty();
        }
        if (peerAkFingerprint == null) {
            peerAkFingerprint = Optional.empty();
        }
    }

    /** A decision without MANIFEST digest or peer AK (backends that do not track them). */
    public MigrationDecision(MigrationId id, MigrationRole role, String vmName, int domId,
            Optional<String> peerHostId, MigrationState state, boolean inDoubt, String detail) {
        this(id, role, vmName, domId, peerHostId, state, inDoubt, detail, Optional.empty(), Optional.empty());
    }
}
