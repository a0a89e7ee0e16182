package org.sealift.console.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertificateException;
import java.time.Duration;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The management API of one agent (docs/api.md): JSON requests and the event stream over mutual TLS. Thread-safe.
 * Every failure is an {@link AgentException} whose message names the agent, its address, the problem and the fix;
 * a refusal by the agent is an {@link AgentRefusedException} carrying the agent's own message.
 */
public final class AgentApi implements AutoCloseable {

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    private final AgentRef agent;
    private final String fix;
    private final HttpClient http;

    /**
     * @param fix what to check when the agent cannot be reached ("check Preferences > Agents", or the lab's hint)
     */
    public AgentApi(AgentRef agent, SSLContext tls, String fix) {
        this.agent = agent;
        this.fix = fix;
        SSLParameters p = tls.getDefaultSSLParameters();
        p.setProtocols(new String[] {"TLSv1.3"});
        // HTTP/1.1: one plain stream per event subscription, as the agent serves them
        this.http = HttpClient.newBuilder().sslContext(tls).sslParameters(p).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT).build();
    }

    public AgentRef agent() {
        return agent;
    }

    /** "agent h2 at https://127.0.0.1:7443", as messages name it. */
    public String describe() {
        return "agent " + agent.name() + " at " + agent.address();
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public JsonNode get(String path) throws AgentException {
        return send(request(path).GET().build());
    }

    /** POST with a JSON body, or with none if {@code body} is null. */
    public JsonNode post(String path, JsonNode body) throws AgentException {
        HttpRequest.Builder b = request(path);
        if (body == null) {
            b.POST(HttpRequest.BodyPublishers.noBody());
        } else {
            try {
                b.header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body)));
            } catch (IOException e) {
                throw new IllegalArgumentException("request body does not serialize: " + e.getMessage(), e);
            }
        }
        return send(b.build());
    }

    public JsonNode delete(String path) throws AgentException {
        return send(request(path).DELETE().build());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(uri(path)).timeout(REQUEST_TIMEOUT).header("Accept", "application/json");
    }

    URI uri(String path) {
        return agent.address().resolve(path);
    }

    private JsonNode send(HttpRequest req) throws AgentException {
        HttpResponse<byte[]> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException("interrupted while asking " + describe(), e);
        }
        return body(r.statusCode(), r.body(), req);
    }

    private JsonNode body(int status, byte[] bytes, HttpRequest req) throws AgentException {
        JsonNode body;
        try {
            body = MAPPER.readTree(bytes);
        } catch (IOException e) {
            throw new AgentException(describe() + " answered " + req.method() + " " + req.uri().getPath() + " with "
                    + status + " and a body that is not JSON; is this address a Sealift agent's management API?");
        }
        if (status >= 400) {
            throw new AgentRefusedException(status, body.path("error").asText("http_" + status),
                    "agent " + agent.name() + " refused: " + body.path("message").asText("HTTP " + status));
        }
        return body == null || body.isMissingNode() ? MAPPER.nullNode() : body;
    }

    /**
     * Opens {@code GET /v1/events} (server-sent events) and returns once the agent has subscribed this client: an
     * event published after this returns is never missed (docs/api.md).
     *
     * @param types       event types to receive, e.g. "phase,round,anomaly,outcome"
     * @param lastEventId resume after this event id (the agent replays what it still holds), or -1
     */
    public EventStream events(String types, long lastEventId) throws AgentException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri("/v1/events?types=" + types)).GET()
                .header("Accept", "text/event-stream");
        if (lastEventId >= 0) {
            b.header("Last-Event-ID", Long.toString(lastEventId));
        }
        HttpRequest req = b.build();
        HttpResponse<InputStream> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException("interrupted while subscribing to the events of " + describe(), e);
        }
        if (r.statusCode() != 200) {
            byte[] bytes;
            try (InputStream in = r.body()) {
                bytes = in.readAllBytes();
            } catch (IOException e) {
                bytes = new byte[0];
            }
            body(r.statusCode() < 400 ? 502 : r.statusCode(), bytes, req);
        }
        return new EventStream(r.body(), describe());
    }

    /** What an I/O failure means for the operator: unreachable, refused by TLS, or too slow. */
    AgentException unreachable(IOException e) {
        Throwable root = e;
        CertificateException ours = null;
        for (Throwable c = e; c != null; c = c.getCause()) {
            root = c;
            if (c instanceof CertificateException ce && ours == null) {
                ours = ce;
            }
        }
        String base = describe() + " is unreachable: ";
        if (ours != null) {
            return new AgentException(describe() + " was refused by the console: " + ours.getMessage(), e);
        }
        if (e instanceof HttpConnectTimeoutException) {
            return new AgentException(base + "no answer within " + CONNECT_TIMEOUT.toSeconds() + " s; is the agent"
                    + " running and the address right? " + fix, e);
        }
        if (e instanceof HttpTimeoutException) {
            return new AgentException(describe() + " did not answer within " + REQUEST_TIMEOUT.toSeconds()
                    + " s; it may be overloaded; check its log, then reconnect", e);
        }
        if (e instanceof ConnectException || root instanceof ConnectException) {
            String m = root.getMessage() == null ? "connection refused" : root.getMessage().toLowerCase();
            return new AgentException(base + m + "; is the agent running? " + fix, e);
        }
        if (root instanceof UnresolvedAddressException) {
            return new AgentException(base + "the host name " + agent.address().getHost() + " does not resolve; "
                    + fix, e);
        }
        if (e instanceof SSLException || root instanceof SSLException) {
            return new AgentException(describe() + " ended the TLS handshake: " + root.getMessage() + "; the agent"
                    + " accepts only an operator certificate of its cluster: check the operator certificate and the"
                    + " trust anchor in Preferences (the agent's log names the reason)", e);
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return new AgentException(base + m + "; is the agent running? " + fix, e);
    }

    /**
     * Refuses new requests; what is in flight (an event stream a migration is followed on) goes on until the agent
     * ends it. Not {@code HttpClient.close()}: that waits for every open stream to end.
     */
    @Override
    public void close() {
        http.shutdown();
    }

    @Override
    public String toString() {
        return describe();
    }
}
