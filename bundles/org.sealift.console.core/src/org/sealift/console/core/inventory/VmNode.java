package org.sealift.console.core.inventory;

import java.util.Objects;

/**
 * One VM on a host, as the host's agent reported it.
 *
 * @param hostId             the host the VM runs on
 * @param vmId               the VM's id (a UUID for the sim and Xen backends)
 * @param name               the VM's name, for people
 * @param state              running, paused, migrating or stopped
 * @param memoryMiB          memory the VM needs at a destination
 * @param vcpus              virtual CPUs
 * @param protectedProcesses processes whose memory the hypervisor protects (they need secure mode)
 */
public record VmNode(String hostId, String vmId, String name, VmState state, long memoryMiB, int vcpus,
        int protectedProcesses) {

    public VmNode {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(vmId, "vmId");
        Objects.requireNonNull(state, "state");
        name = name == null || name.isBlank() ? vmId : name;
        if (memoryMiB < 0 || vcpus < 0 || protectedProcesses < 0) {
            throw new IllegalArgumentException("VM " + name + ": sizes must not be negative");
        }
    }
}
