package org.sealift.agent.spi;

import java.util.Optional;

/**
 * One migration as the hypervisor's sealed state records it, for recovery after a crash.
 *
 * @param id         the migration id
 * @param role       this host's end
 * @param vmName     the VM
 * @param domId      the local domain, or -1 if it no longer exists
 * @param peerHostId the other end's host id once the handshake authenticated it, else empty
 * @param state      the recorded decision
 * @param inDoubt    true if this host cannot decide alone (e.g. source RELEASED without DONE, destination READY
 *                   without RELEASE, or the sealed state was lost or rolled back)
 * @param detail     what the state means and what the operator can do ("export the RELEASE token and import it
 *                   at h2"), for people
 */
public record MigrationDecision(MigrationId id, MigrationRole role, String vmName, int domId,
        Optional<String> peerHostId, MigrationState state, boolean inDoubt, String detail) {

    public MigrationDecision {
        if (peerHostId == null) {
            peerHostId = Optional.empty();
        }
    }
}
