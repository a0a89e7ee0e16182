package org.sealift.console.core.lab.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sealift.console.core.lab.LabException;
import org.sealift.console.core.settings.ConsoleTls;
import org.sealift.console.core.settings.SettingsException;

/**
 * The few management-API calls a lab reset makes (list, destroy and create VMs, list migrations), and the lab
 * control API's crash and restart, with the lab operator's certificate over mutual TLS 1.3. The server is identified
 * by the host id in its certificate, issued by the lab CA (an agent's host id, or {@value #CONTROL} for the lab
 * control API; both are reached by loopback address, so there is no DNS name to check).
 */
final class LabAgentClient {

    /** The name in the lab control API's certificate. */
    static final String CONTROL = "lab-control";

    private final String host;
    private final String who;
    private final URI base;
    private final HttpClient http;
    private final Duration timeout;

    LabAgentClient(String host, URI base, Path operatorCert, Path operatorKey, Path ca) throws LabException {
        this(host, base, operatorCert, operatorKey, ca, Duration.ofSeconds(30));
    }

    /**
     * @param timeout how long one request may take (a host restart boots two JVMs: minutes on a busy machine)
     */
    LabAgentClient(String host, URI base, Path operatorCert, Path operatorKey, Path ca, Duration timeout)
            throws LabException {
        this.host = host;
        this.who = host.equals(CONTROL) ? "the lab control API" : "lab host " + host;
        this.base = base;
        this.timeout = timeout;
        try {
            // the console's own operator TLS: the same checks and the same pinning of the agent's host id
            SSLContext ctx = ConsoleTls.context(ConsoleTls.loadOperator(operatorCert, operatorKey, ca, Instant.now()),
                    host, Instant::now);
            SSLParameters params = ctx.getDefaultSSLParameters();
            params.setProtocols(new String[] { "TLSv1.3" });
            http = HttpClient.newBuilder().sslContext(ctx).sslParameters(params)
                    .connectTimeout(Duration.ofSeconds(10)).build();
        } catch (SettingsException e) {
            throw new LabException("cannot use the lab operator's credentials (" + operatorCert + ", " + operatorKey
                    + ", " + ca + "): " + e.getMessage() + "; restart the lab with 'sealift lab' to make new ones", e);
        }
    }

    /** The management API's JSON, read with the console's Jackson (the agent client's library too). */
    static final ObjectMapper JSON = new ObjectMapper();

    JsonNode get(String path) throws LabException {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET(), "GET " + path);
    }

    JsonNode delete(String path) throws LabException {
        return send(HttpRequest.newBuilder(base.resolve(path)).DELETE(), "DELETE " + path);
    }

    JsonNode post(String path, Map<String, Object> body) throws LabException {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new LabException("cannot write the request " + path + ": " + e.getMessage(), e);
        }
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(text)), "POST " + path);
    }

    /** {@code key} of a JSON object the API must have sent, as text. */
    static String text(JsonNode object, String key, String what) throws LabException {
        JsonNode v = object == null ? null : object.get(key);
        if (v == null || v.isNull() || v.isContainerNode()) {
            throw new LabException("a lab agent sent a " + what + " without '" + key + "': " + object
                    + "; is the lab's agent jar older than this console? restart the lab with 'sealift lab'");
        }
        return v.asText();
    }

    static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The agent answered with an error; {@code code} is the API's stable error code. */
    static final class ApiError extends LabException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    private JsonNode send(HttpRequest.Builder b, String what) throws LabException {
        HttpResponse<String> r;
        try {
            r = http.send(b.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new LabException((host.equals(CONTROL) ? who : "the agent of " + who) + " (" + base + ") did not"
                    + " answer " + what + ": " + e.getMessage() + "; check that the lab runs ('sealift lab')", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while asking " + who + ": " + what, e);
        }
        JsonNode json;
        try {
            json = r.body().isBlank() ? null : JSON.readTree(r.body());
        } catch (JsonProcessingException e) {
            throw new LabException(who + " answered " + what + " with something that is not JSON ("
                    + e.getMessage() + ")", e);
        }
        if (r.statusCode() >= 300) {
            String code = json != null && json.hasNonNull("error") ? json.get("error").asText() : "";
            String msg = json != null && json.hasNonNull("message") ? json.get("message").asText()
                    : "HTTP " + r.statusCode();
            throw new ApiError(r.statusCode(), code, who + " refused " + what + ": " + msg);
        }
        return json;
    }
}
