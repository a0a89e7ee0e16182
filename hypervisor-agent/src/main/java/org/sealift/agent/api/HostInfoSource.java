package org.sealift.agent.api;

/** Where {@code GET /v1/host} gets its answer; implemented over the hypervisor backend. */
@FunctionalInterface
public interface HostInfoSource {

    /**
     * The current state. Throw {@link ApiException} (e.g. 503 "hypervisor_unreachable") when it cannot be known;
     * never report a guess.
     */
    HostInfo hostInfo() throws Exception;
}
