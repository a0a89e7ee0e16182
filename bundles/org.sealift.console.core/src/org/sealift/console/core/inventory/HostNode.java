package org.sealift.console.core.inventory;

import java.util.List;
import java.util.Objects;

/**
 * One host as the console last saw it: what its agent reported ({@code GET /v1/host}), or why it could not be
 * reached. Immutable; a new snapshot carries a new instance when anything changes.
 *
 * @param hostId         host id (the agent's name until the agent has answered)
 * @param agent          where the console reaches the host's agent
 * @param reachability   connecting, reachable or unreachable
 * @param problem        why the agent is unreachable (names the problem and the fix); empty otherwise
 * @param backend        "sim" or "xen"; empty while unknown
 * @param attested       true if the agent reports its hypervisor attested under the current policy
 * @param measurement    the hypervisor measurement (64 hex digits), empty if unknown
 * @param policy         the policy the host runs under ("policy 'prod' serial 4"), empty if none
 * @param memoryMiB      host memory
 * @param freeMemoryMiB  memory free for a new VM
 * @param vcpus          physical CPUs
 * @param vmCount        VMs on the host (known before the VM list is loaded)
 * @param health         "ok", "degraded" or "down"; empty while unknown
 * @param healthProblems each names a problem and its fix
 */
public record HostNode(String hostId, AgentRef agent, Reachability reachability, String problem, String backend,
        boolean attested, String measurement, String policy, long memoryMiB, long freeMemoryMiB, int vcpus,
        int vmCount, String health, List<String> healthProblems) {

    public HostNode {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(reachability, "reachability");
        problem = problem == null ? "" : problem;
        backend = backend == null ? "" : backend;
        measurement = measurement == null ? "" : measurement;
        policy = policy == null ? "" : policy;
        health = health == null ? "" : health;
        healthProblems = healthProblems == null ? List.of() : List.copyOf(healthProblems);
        if (memoryMiB < 0 || freeMemoryMiB < 0 || vcpus < 0 || vmCount < 0) {
            throw new IllegalArgumentException("host " + hostId + ": capacities must not be negative");
        }
    }

    /** A host whose agent has not answered yet. */
    public static HostNode connecting(AgentRef agent) {
        return new HostNode(agent.name(), agent, Reachability.CONNECTING, "", "", false, "", "", 0, 0, 0, 0, "",
                List.of());
    }

    /** A host whose agent could not be reached; {@code problem} says why and what to do. */
    public static HostNode unreachable(AgentRef agent, String problem) {
        return new HostNode(agent.name(), agent, Reachability.UNREACHABLE, problem, "", false, "", "", 0, 0, 0, 0,
                "", List.of());
    }

    /** A reachable host as its agent described it. */
    public static HostNode reachable(String hostId, AgentRef agent, String backend, boolean attested,
            String measurement, String policy, long memoryMiB, long freeMemoryMiB, int vcpus, int vmCount,
            String health, List<String> healthProblems) {
        return new HostNode(hostId, agent, Reachability.REACHABLE, "", backend, attested, measurement, policy,
                memoryMiB, freeMemoryMiB, vcpus, vmCount, health, healthProblems);
    }

    public boolean isReachable() {
        return reachability == Reachability.REACHABLE;
    }

    /** The same host, now seen as unreachable (keeps nothing the agent said: it may be stale). */
    public HostNode asUnreachable(String why) {
        return unreachable(agent, why).withHostId(hostId);
    }

    /** The same host, while the console asks its agent again. */
    public HostNode asConnecting() {
        return connecting(agent).withHostId(hostId);
    }

    private HostNode withHostId(String id) {
        return new HostNode(id, agent, reachability, problem, backend, attested, measurement, policy, memoryMiB,
                freeMemoryMiB, vcpus, vmCount, health, healthProblems);
    }

    /** First 8 hex digits and an ellipsis, for labels; the full value belongs in tooltips and details. */
    public String measurementShort() {
        return measurement.length() > 8 ? measurement.substring(0, 8) + "\u2026" : measurement;
    }
}
