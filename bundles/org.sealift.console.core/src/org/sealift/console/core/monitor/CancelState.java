package org.sealift.console.core.monitor;

/** Where a request to cancel a migration stands. */
public enum CancelState {
    /** Nobody asked to cancel. */
    NONE,
    /** Cancel was asked; the source agent has not answered yet. */
    REQUESTED,
    /** The source agent sent ABORT: the migration rolls back, the VM stays at the source. */
    ABORT_SENT,
    /** Too late or failed: the message says why (e.g. after RELEASE the destination owns the VM). */
    REFUSED
}
