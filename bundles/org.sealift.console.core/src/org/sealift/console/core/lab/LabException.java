package org.sealift.console.core.lab;

/** The lab could not be attached, started or reset; the message names the problem and the fix. */
public class LabException extends Exception {

    private static final long serialVersionUID = 1L;

    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }
}
