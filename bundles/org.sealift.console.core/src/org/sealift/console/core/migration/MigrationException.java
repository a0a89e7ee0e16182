package org.sealift.console.core.migration;

/** A migration could not be checked or started; the message names the problem and the fix. */
public class MigrationException extends Exception {

    private static final long serialVersionUID = 1L;

    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
