package org.sealift.agent.api;

import java.util.List;
import java.util.Objects;

/**
 * What {@code GET /v1/host} reports: who this host is, whether its hypervisor is attested, what it can hold and
 * whether it is healthy.
 *
 * @param hostId      the host id (CN of the agent and AK certificates)
 * @param backend     "sim" or "xen"
 * @param measurement the hypervisor measurement (64 hex digits), or null if the hypervisor is not reachable
 * @param attested    true if the hypervisor's AK certificate is from this cluster's CA and its measurement is
 *                    allowed by the current policy
 * @param policy      the current policy ("policy 'prod' serial 4"), or null if none is installed
 */
public record HostInfo(String hostId, String backend, String measurement, boolean attested, String policy,
        Capacity capacity, Health health) {

    public HostInfo {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(health, "health");
    }

    /** Memory and vCPUs of the host as the hypervisor reports them. */
    public record Capacity(long memoryMiB, long freeMemoryMiB, int vcpus, int vms) {
    }

    /**
     * @param status   "ok", "degraded" (works, with problems listed) or "down" (cannot migrate)
     * @param problems each names the problem and the fix; empty when ok
     */
    public record Health(String status, List<String> problems) {

        public Health {
            if (!List.of("ok", "degraded", "down").contains(status)) {
                throw new IllegalArgumentException("health status must be ok, degraded or down, got " + status);
            }
            problems = List.copyOf(problems);
        }

        public static Health ok() {
            return new Health("ok", List.of());
        }
    }
}
