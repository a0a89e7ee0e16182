package org.sealift.console.core.inventory;

/** Whether the console can talk to a host's agent. */
public enum Reachability {
    /** The console is asking the agent for the first time or again (Reconnect). */
    CONNECTING,
    /** The agent answered. */
    REACHABLE,
    /** The agent did not answer or refused the console; {@link HostNode#problem()} says why. */
    UNREACHABLE
}
