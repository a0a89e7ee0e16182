package org.sealift.agent.api;

/** Handles one method on one path template of the management API. */
@FunctionalInterface
public interface Route {

    /**
     * @throws ApiException for errors the caller can act on (turned into the JSON error shape); any other exception
     *                      is a 500 that is logged with its stack trace and reported without it
     */
    ApiResponse handle(ApiRequest request) throws Exception;
}
