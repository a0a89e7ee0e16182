package org.sealift.agent.api;

/**
 * A request failed in a way the caller can act on. Turned into {@code {"error": code, "message": text}} with the
 * HTTP status; the message names the problem and the fix, as every Sealift error does.
 */
public class ApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;

    public ApiException(int status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    /** Stable, machine-readable: "malformed_json", "not_found", ... (listed in docs/api.md). */
    public String code() {
        return code;
    }

    public static ApiException badRequest(String code, String message) {
        return new ApiException(400, code, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message);
    }

    public static ApiException conflict(String code, String message) {
        return new ApiException(409, code, message);
    }

    public static ApiException unavailable(String code, String message) {
        return new ApiException(503, code, message);
    }
}
