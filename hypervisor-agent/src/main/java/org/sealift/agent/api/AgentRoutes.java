package org.sealift.agent.api;

/**
 * The management API resources that exist today (docs/api.md lists these and, separately, the planned ones).
 * Resources are added here only together with an implementation and tests.
 */
public final class AgentRoutes {

    public static final String HOST = "/v1/host";
    public static final String EVENTS = "/v1/events";

    private AgentRoutes() {
    }

    /** {@code GET /v1/host} and the event stream {@code GET /v1/events}. */
    public static Router create(HostInfoSource host, EventHub events) {
        return new Router()
                .add("GET", HOST, req -> ApiResponse.ok(host.hostInfo()))
                .addEventStream(EVENTS, events);
    }
}
