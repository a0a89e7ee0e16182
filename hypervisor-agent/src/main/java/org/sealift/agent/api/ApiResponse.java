package org.sealift.agent.api;

/** A JSON response: status and the value Jackson writes as the body. */
public record ApiResponse(int status, Object body) {

    public static ApiResponse ok(Object body) {
        return new ApiResponse(200, body);
    }

    public static ApiResponse created(Object body) {
        return new ApiResponse(201, body);
    }

    public static ApiResponse accepted(Object body) {
        return new ApiResponse(202, body);
    }
}
