package org.sealift.agent.spi;

import java.util.Optional;

/**
 * Prepare to receive a secure migration: the hypervisor creates an INCOMING domain with this public configuration
 * (same name, memory, vCPUs, protected page layout and workload as at the source); it runs only after a valid RELEASE.
 *
 * @param config          the VM's public configuration
 * @param sourceHostId    the host expected to send it (empty: any host the policy allows)
 * @param readyDeadlineMs how long the destination waits after READY for RELEASE or ABORT before it aborts and
 *                        zeroizes on its own (default 30 000)
 */
public record DestinationRequest(DomainConfig config, Optional<String> sourceHostId, long readyDeadlineMs) {

    public static final long DEFAULT_READY_DEADLINE_MS = 30_000;

    public DestinationRequest {
        if (sourceHostId == null) {
            sourceHostId = Optional.empty();
        }
        if (readyDeadlineMs < 0) {
            throw new IllegalArgumentException("READY deadline " + readyDeadlineMs + " ms is negative: use 0 or more");
        }
    }

    public static DestinationRequest of(DomainConfig config) {
        return new DestinationRequest(config, Optional.empty(), DEFAULT_READY_DEADLINE_MS);
    }
}
