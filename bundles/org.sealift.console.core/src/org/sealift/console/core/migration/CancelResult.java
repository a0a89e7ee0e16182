package org.sealift.console.core.migration;

/**
 * What asking to cancel a running migration did.
 *
 * @param abortSent true if the source agent sent ABORT (the migration is being rolled back, the VM stays at the
 *                  source); false if it was too late or failed
 * @param message   for a refusal: why it can no longer be cancelled (e.g. the source has issued RELEASE and the
 *                  destination owns the VM now); for an abort: what happens next
 */
public record CancelResult(boolean abortSent, String message) {

    public static CancelResult aborted(String message) {
        return new CancelResult(true, message);
    }

    public static CancelResult refused(String message) {
        return new CancelResult(false, message);
    }
}
