package org.sealift.agent.spi;

/** What a domain is doing, as the hypervisor sees it. */
public enum DomainState {
    /** Its vCPUs run (the workload writes memory). */
    RUNNING,
    /** Created or paused; may be resumed unless a migration forbids it. */
    PAUSED,
    /** Destination of a secure migration: memory is being received; it runs only after a valid RELEASE (or fence). */
    INCOMING,
    /** Source after RELEASE: stays paused until DONE, or until the destination's ABORT token or a fence is imported. */
    RELEASED,
    /** Source after DONE: the VM runs elsewhere; only destroy is allowed. */
    MIGRATED_AWAY,
    /** Destination after it issued ABORT: the copy was zeroized; only destroy is allowed. */
    ZEROIZED
}
