package org.sealift.agent.spi;

import java.util.Optional;

/**
 * Start a secure migration of a local domain.
 *
 * @param domId             the domain to move
 * @param destinationHostId the host the operator asked for; the hypervisor refuses a HELLO_REPLY from any other host
 *                          (empty: any host the policy allows to receive this VM)
 */
public record SourceRequest(int domId, Optional<String> destinationHostId) {

    public SourceRequest {
        if (destinationHostId == null) {
            destinationHostId = Optional.empty();
        }
    }

    public static SourceRequest to(int domId, String destinationHostId) {
        return new SourceRequest(domId, Optional.of(destinationHostId));
    }
}
