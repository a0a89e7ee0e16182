package org.sealift.agent.tls;

/**
 * What an agent does with an incoming channel connection. The engine implements it to receive migrations; the
 * connection is closed when {@link #handle} returns.
 */
public interface ChannelHandler {

    /**
     * Decides before the connection is handed over: null to accept, or a reason that the connecting agent is told
     * (e.g. "host h2 is draining"). Runs on the connection's thread.
     */
    default String refusal(PeerIdentity peer, String label) {
        return null;
    }

    /** Runs the connection to its end, on a thread of its own; several connections run at once. */
    void handle(ChannelConnection connection) throws Exception;
}
