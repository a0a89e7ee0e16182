package org.sealift.console.core.migration;

import java.util.Objects;

/**
 * A migration a host's hypervisor has not settled (source released without DONE, destination ready without
 * RELEASE, or sealed state lost), as that host's agent lists it.
 *
 * @param hostId      the host that reported it
 * @param migrationId the migration id (hex)
 * @param role        "source" or "destination" at that host
 * @param vm          the VM's name
 * @param peer        the other host
 * @param state       the hypervisor's decision state (e.g. RELEASED, READY)
 * @param detail      the hypervisor's sentence on what to do
 */
public record InDoubtMigration(String hostId, String migrationId, String role, String vm, String peer, String state,
        String detail) {

    public InDoubtMigration {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(migrationId, "migrationId");
        role = role == null ? "" : role;
        vm = vm == null ? "" : vm;
        peer = peer == null ? "" : peer;
        state = state == null ? "" : state;
        detail = detail == null ? "" : detail;
    }

    /** The token this end can hand over to settle it: RELEASE from a source, DONE from a destination. */
    public InDoubtService.TokenKind exportKind() {
        return "destination".equals(role) ? InDoubtService.TokenKind.DONE : InDoubtService.TokenKind.RELEASE;
    }
}
