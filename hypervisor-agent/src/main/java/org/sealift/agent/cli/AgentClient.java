package org.sealift.agent.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;

import org.sealift.agent.api.Json;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A management-API client with an operator certificate: JSON requests and the event stream of one agent. The agent
 * is identified by its certificate (host id), not by the URL's host name.
 */
public final class AgentClient {

    /** The agent answered with an error (the API's {"error", "message"} shape). */
    public static final class ApiError extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }

        public int status() {
            return status;
        }

        public String code() {
            return code;
        }
    }

    /** The agent could not be reached or did not complete TLS. */
    public static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Connect (TCP and TLS handshake) and request timeouts; the system properties {@code sealift.client.connect-timeout-ms}
     * and {@code sealift.client.request-timeout-ms} widen them where everything is slow (the Xen stage runs the CLI in
     * an emulated dom0, where a cold JVM's first TLS handshake alone takes longer than 10 s).
     */
    private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(Long.getLong("sealift.client.connect-timeout-ms",
            10_000));
    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(Long.getLong("sealift.client.request-timeout-ms",
            60_000));

    private final String name;
    private final URI base;
    private final HttpClient http;

    /**
     * @param expectedHost the host id the agent's certificate must carry, or null to accept any agent of the cluster
     *                     (when only a URL was given)
     */
    public AgentClient(String expectedHost, URI base, TlsCredentials operator, Clock clock) throws TlsSetupException {
        this.name = expectedHost == null ? base.toString() : "agent " + expectedHost + " (" + base + ")";
        this.base = base;
        SSLContext ctx = SealiftTls.managementApiClient(operator, expectedHost, clock);
        this.http = HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false))
                .connectTimeout(CONNECT_TIMEOUT).build();
    }

    public String name() {
        return name;
    }

    public URI base() {
        return base;
    }

    public JsonNode get(String path) throws ApiError, Unreachable {
        return send(HttpRequest.newBuilder(base.resolve(path)).timeout(REQUEST_TIMEOUT).GET().build());
    }

    public JsonNode post(String path, Object body) throws ApiError, Unreachable {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(Json.write(body));
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(REQUEST_TIMEOUT).POST(p);
        if (body != null) {
            b.header("Content-Type", Json.MEDIA_TYPE);
        }
        return send(b.build());
    }

    private JsonNode send(HttpRequest req) throws ApiError, Unreachable {
        HttpResponse<byte[]> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unreachable("cannot reach " + name + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted while calling " + name, e);
        }
        JsonNode body;
        try {
            body = Json.mapper().readTree(r.body());
        } catch (IOException e) {
            throw new ApiError(r.statusCode(), "malformed_response", name + " answered " + r.statusCode()
                    + " with a body that is not JSON");
        }
        if (r.statusCode() >= 400) {
            throw new ApiError(r.statusCode(), body.path("error").asText("http_" + r.statusCode()),
                    body.path("message").asText("HTTP " + r.statusCode()));
        }
        return body;
    }

    static String describe(IOException e) {
        String m = e.getMessage();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c.getMessage() != null) {
                m = c.getMessage();
            }
        }
        return (m == null ? e.getClass().getSimpleName() : m)
                + "; check the URL, that the agent runs, and that the operator certificate is of this cluster";
    }

    /** An open event stream: call {@link #next} for events; close to end it. */
    public static final class EventStream implements AutoCloseable {
        private final InputStream in;
        private final java.io.BufferedReader reader;

        EventStream(InputStream in) {
            this.in = in;
            this.reader = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        }

        /** The next event (type and parsed data) passing {@code filter}, or empty when the stream ended. */
        public Optional<Event> next(Predicate<Event> filter) throws IOException {
            String type = null;
            StringBuilder data = new StringBuilder();
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) {
                    if (type != null && data.length() > 0) {
                        Event e = new Event(type, Json.mapper().readTree(data.toString()));
                        if (filter.test(e)) {
                            return Optional.of(e);
                        }
                    }
                    type = null;
                    data.setLength(0);
                } else if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data.append(line.substring(6));
                }
            }
            return Optional.empty();
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                // ending the stream either way
            }
        }
    }

    /** One server-sent event. */
    public record Event(String type, JsonNode data) {
    }

    /** Opens {@code GET /v1/events?types=...}; returns once the agent has sent its greeting (subscribed). */
    public EventStream events(String types) throws ApiError, Unreachable {
        HttpRequest req = HttpRequest.newBuilder(base.resolve("/v1/events?types=" + types)).GET().build();
        HttpResponse<InputStream> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new Unreachable("cannot reach " + name + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted while calling " + name, e);
        }
        if (r.statusCode() != 200) {
            try (InputStream in = r.body()) {
                JsonNode body = Json.mapper().readTree(in.readAllBytes());
                throw new ApiError(r.statusCode(), body.path("error").asText(), body.path("message").asText());
            } catch (IOException e) {
                throw new ApiError(r.statusCode(), "http_" + r.statusCode(), "event stream refused");
            }
        }
        return new EventStream(r.body());
    }

    static Stream<JsonNode> elements(JsonNode array) {
        java.util.List<JsonNode> out = new java.util.ArrayList<>();
        array.forEach(out::add);
        return out.stream();
    }
}
