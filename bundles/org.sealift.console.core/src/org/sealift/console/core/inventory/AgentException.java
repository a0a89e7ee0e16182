package org.sealift.console.core.inventory;

/** An agent could not be asked: its message names the agent, the problem and the fix. */
public class AgentException extends Exception {

    private static final long serialVersionUID = 1L;

    public AgentException(String message) {
        super(message);
    }

    public AgentException(String message, Throwable cause) {
        super(message, cause);
    }
}
