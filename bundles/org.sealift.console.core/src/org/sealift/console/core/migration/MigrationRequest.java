package org.sealift.console.core.migration;

import java.util.Objects;

import org.sealift.model.MigrationOptions;

/**
 * What the person asked for: move this VM from its host to that host with these options.
 *
 * @param vmId              the VM's id
 * @param vmName            the VM's name, for messages
 * @param sourceHostId      the host the VM runs on
 * @param destinationHostId the host to move it to
 * @param options           mode, round limit, downtime target, bandwidth limit
 * @param inject            lab agents only: the attack the source agent plays against this migration (the
 *                          management API's {@code inject}, e.g. "replay"); empty for none
 */
public record MigrationRequest(String vmId, String vmName, String sourceHostId, String destinationHostId,
        MigrationOptions options, String inject) {

    public MigrationRequest {
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(sourceHostId, "sourceHostId");
        Objects.requireNonNull(destinationHostId, "destinationHostId");
        Objects.requireNonNull(options, "options");
        vmName = vmName == null || vmName.isBlank() ? vmId : vmName;
        inject = inject == null ? "" : inject.trim();
    }

    /** A request without an injected attack (everything but the lab). */
    public MigrationRequest(String vmId, String vmName, String sourceHostId, String destinationHostId,
            MigrationOptions options) {
        this(vmId, vmName, sourceHostId, destinationHostId, options, "");
    }

    public MigrationRequest withDestination(String hostId) {
        return new MigrationRequest(vmId, vmName, sourceHostId, hostId, options, inject);
    }

    public MigrationRequest withOptions(MigrationOptions o) {
        return new MigrationRequest(vmId, vmName, sourceHostId, destinationHostId, o, inject);
    }

    /** The same request with the lab attack {@code attack} injected ("" or null for none). */
    public MigrationRequest withInject(String attack) {
        return new MigrationRequest(vmId, vmName, sourceHostId, destinationHostId, options, attack);
    }

    public boolean hasInject() {
        return !inject.isEmpty();
    }

    /** "web-1 from h1 to h2 (secure)", and the attack when one is injected. */
    public String describe() {
        return vmName + " from " + sourceHostId + " to " + destinationHostId + " (" + options.mode()
                + (inject.isEmpty() ? "" : ", lab attack '" + inject + "'") + ")";
    }
}
