package org.sealift.console.core.inventory;

import java.net.URI;
import java.util.Objects;

/**
 * An agent the console is told to connect to (Preferences): the host id it should answer for and the address of
 * its management API.
 *
 * @param name    the host id the agent is expected to report (CN of its TLS certificate)
 * @param address {@code https://host:port} of the agent's management API
 */
public record AgentRef(String name, URI address) {

    public AgentRef {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("agent name missing: use the host id the agent runs on, e.g. h1");
        }
        Objects.requireNonNull(address, "address");
        if (!"https".equalsIgnoreCase(address.getScheme()) || address.getHost() == null) {
            throw new IllegalArgumentException("agent " + name + ": address " + address
                    + " is not an https:// URL with a host; the management API only speaks HTTPS (mutual TLS),"
                    + " e.g. https://10.0.0.11:7443");
        }
    }

    /** Parses "https://..." with the error naming the agent and the fix. */
    public static AgentRef parse(String name, String address) {
        if (address == null || address.isBlank()) {
            throw new IllegalArgumentException("agent " + name + ": address missing: use https://host:port");
        }
        try {
            return new AgentRef(name == null ? null : name.trim(), URI.create(address.trim()));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("agent")) {
                throw e;
            }
            throw new IllegalArgumentException("agent " + name + ": address '" + address + "' is not a URL: use"
                    + " https://host:port", e);
        }
    }

    @Override
    public String toString() {
        return name + " (" + address + ")";
    }
}
