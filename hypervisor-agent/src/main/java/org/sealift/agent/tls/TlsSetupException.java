package org.sealift.agent.tls;

/** TLS material cannot be used as configured; the message names the file or certificate and the fix. */
public class TlsSetupException extends Exception {

    private static final long serialVersionUID = 1L;

    public TlsSetupException(String message) {
        super(message);
    }

    public TlsSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
