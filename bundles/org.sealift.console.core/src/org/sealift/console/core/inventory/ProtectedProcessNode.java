package org.sealift.console.core.inventory;

import java.util.Objects;

/**
 * A process inside a VM whose memory the hypervisor protects (the guest OS and dom0 see only ciphertext).
 *
 * @param hostId         the host the VM runs on
 * @param vmId           the VM
 * @param pid            the guest's process id
 * @param name           the process name as the guest reported it at protection time
 * @param protectedPages pages the hypervisor keeps sealed for it
 */
public record ProtectedProcessNode(String hostId, String vmId, int pid, String name, long protectedPages) {

    public ProtectedProcessNode {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(vmId, "vmId");
        name = name == null || name.isBlank() ? "pid " + pid : name;
        if (pid < 0 || protectedPages < 0) {
            throw new IllegalArgumentException("process " + name + ": pid and page count must not be negative");
        }
    }
}
