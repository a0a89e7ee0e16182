package org.sealift.console.agent;

import org.sealift.console.core.inventory.AgentException;

/**
 * The agent answered, but refused the request with its API error ({@code {"error", "message"}}, docs/api.md §2):
 * the message is the agent's own sentence naming the problem and the fix.
 */
public final class AgentRefusedException extends AgentException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;

    public AgentRefusedException(int status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    /** The HTTP status, e.g. 409. */
    public int status() {
        return status;
    }

    /** The API's stable error code, e.g. "released", "vm_locked". */
    public String code() {
        return code;
    }
}
