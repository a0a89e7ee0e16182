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
 */
public record MigrationRequest(String vmId, String vmName, String sourceHostId, String destinationHostId,
        MigrationOptions options) {

    public MigrationRequest {
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(sourceHostId, "sourceHostId");
        Objects.requireNonNull(destinationHostId, "destinationHostId");
        Objects.requireNonNull(options, "options");
        vmName = vmName == null || vmName.isBlank() ? vmId : vmName;
    }

    public MigrationRequest withDestination(String hostId) {
        return new MigrationRequest(vmId, vmName, sourceHostId, hostId, options);
    }

    public MigrationRequest withOptions(MigrationOptions o) {
        return new MigrationRequest(vmId, vmName, sourceHostId, destinationHostId, o);
    }

    /** "web-1 from h1 to h2 (secure)". */
    public String describe() {
        return vmName + " from " + sourceHostId + " to " + destinationHostId + " (" + options.mode() + ")";
    }
}
