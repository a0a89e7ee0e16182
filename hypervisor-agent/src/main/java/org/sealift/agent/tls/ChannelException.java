package org.sealift.agent.tls;

import java.io.IOException;

/** An agent-channel connection could not be set up; the message names the peer, the problem and what to check. */
public class ChannelException extends IOException {

    private static final long serialVersionUID = 1L;

    public ChannelException(String message) {
        super(message);
    }

    public ChannelException(String message, Throwable cause) {
        super(message, cause);
    }
}
