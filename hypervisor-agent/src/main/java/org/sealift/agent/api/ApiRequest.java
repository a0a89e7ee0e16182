package org.sealift.agent.api;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sealift.agent.tls.PeerIdentity;

/** One management API request as route handlers see it: already authenticated, body already size-checked. */
public final class ApiRequest {

    private final String method;
    private final String path;
    private final Map<String, String> pathParams;
    private final Map<String, List<String>> query;
    private final PeerIdentity caller;
    private final byte[] body;

    ApiRequest(String method, String path, Map<String, String> pathParams, Map<String, List<String>> query,
            PeerIdentity caller, byte[] body) {
        this.method = method;
        this.path = path;
        this.pathParams = Map.copyOf(pathParams);
        this.query = Map.copyOf(query);
        this.caller = caller;
        this.body = body;
    }

    public String method() {
        return method;
    }

    public String path() {
        return path;
    }

    /** The value of {@code {name}} in the route template. */
    public String pathParam(String name) {
        String v = pathParams.get(name);
        if (v == null) {
            throw new IllegalArgumentException("route has no path parameter {" + name + "}");
        }
        return v;
    }

    public Optional<String> queryParam(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    /** A non-negative integer query parameter; 400 naming the parameter if it is not one. */
    public long queryLong(String name, long defaultValue, long max) {
        Optional<String> v = queryParam(name);
        if (v.isEmpty()) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(v.get());
            if (n < 0 || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_parameter", "query parameter '" + name + "' is '" + v.get()
                    + "'; use a whole number from 0 to " + max);
        }
    }

    /** The operator who sent the request (from the client certificate). */
    public PeerIdentity caller() {
        return caller;
    }

    /** The body as {@code type}; 400 with the shape naming the problem if it is not valid JSON of that type. */
    public <T> T body(Class<T> type, String what) {
        return Json.read(body, type, what);
    }

    public byte[] rawBody() {
        return body.clone();
    }
}
