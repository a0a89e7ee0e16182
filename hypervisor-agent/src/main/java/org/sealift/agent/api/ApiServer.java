package org.sealift.agent.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import javax.net.ssl.SSLContext;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.sealift.agent.tls.PeerIdentity;
import org.sealift.agent.tls.PeerRefusedException;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;
import org.sealift.protocol.pki.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's management API: HTTPS (TLS 1.3, client certificate required, operators of this cluster only) with JSON
 * bodies, on Jetty 12 core. Every error, including the ones Jetty itself produces (bad HTTP, oversized headers), has
 * the shape {@code {"error": code, "message": text}}.
 */
public final class ApiServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);

    /** Limits and addresses (agent config keys api.*). */
    public record Settings(InetAddress bindAddress, int port, long maxBodyBytes, Duration idleTimeout,
            int maxThreads, int sseMaxQueued) {

        public Settings {
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be positive");
            }
            if (maxThreads < 4) {
                throw new IllegalArgumentException("maxThreads must be at least 4 (Jetty needs acceptor and"
                        + " selector threads)");
            }
        }

        /** Defaults for everything but the address. */
        public static Settings defaults(InetAddress bindAddress, int port) {
            return new Settings(bindAddress, port, 1024 * 1024, Duration.ofSeconds(30), 32, 1024);
        }
    }

    private final Server server;
    private final ServerConnector connector;
    private final Router router;
    private final Settings settings;

    private ApiServer(Server server, ServerConnector connector, Router router, Settings settings) {
        this.server = server;
        this.connector = connector;
        this.router = router;
        this.settings = settings;
    }

    /**
     * Starts serving {@code router} with the agent's TLS certificate.
     *
     * @param onRefusal told about every client certificate refused during the handshake (also logged)
     */
    public static ApiServer start(TlsCredentials agent, Router router, Settings settings, Clock clock,
            Consumer<PeerRefusedException> onRefusal) throws TlsSetupException, IOException {
        SSLContext ctx = SealiftTls.managementApiServer(agent, clock, onRefusal);
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(ctx);
        ssl.setNeedClientAuth(true);
        ssl.setIncludeProtocols(SealiftTls.PROTOCOL);

        QueuedThreadPool threads = new QueuedThreadPool(settings.maxThreads(), 2);
        threads.setName("sealift-api");
        Server server = new Server(threads);
        server.setStopTimeout(5000);

        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setRequestHeaderSize(16 * 1024);
        http.setIdleTimeout(settings.idleTimeout().toMillis());
        // hosts are reached by address and identified by certificate (see ClusterTrustManager), not by SNI
        http.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));

        ServerConnector connector = new ServerConnector(server, 1, 1, new SslConnectionFactory(ssl, "http/1.1"),
                new HttpConnectionFactory(http));
        connector.setHost(settings.bindAddress().getHostAddress());
        connector.setPort(settings.port());
        connector.setIdleTimeout(settings.idleTimeout().toMillis());
        server.addConnector(connector);
        server.setErrorHandler(new JsonErrorHandler());

        ApiServer api = new ApiServer(server, connector, router, settings);
        server.setHandler(api.new ApiHandler());
        try {
            server.start();
        } catch (Exception e) {
            try {
                server.stop();
            } catch (Exception ignored) {
                // already failing
            }
            throw new IOException("cannot start the management API on " + settings.bindAddress().getHostAddress()
                    + ":" + settings.port() + ": " + e.getMessage() + "; pick a free port (api.port) or another"
                    + " address (api.address)", e);
        }
        LOG.info("management API of {} listening on https://{}:{} (TLS 1.3, operator certificates only)",
                agent.name(), settings.bindAddress().getHostAddress(), api.port());
        return api;
    }

    public int port() {
        return connector.getLocalPort();
    }

    /** Stops accepting and waits up to 5 s for requests in progress; event streams end first. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            // Jetty's graceful stop ends in a TimeoutException without a message when requests outlive it
            LOG.warn("management API did not stop cleanly: {}", e instanceof java.util.concurrent.TimeoutException
                    ? "requests still in progress after 5 s were cut off" : String.valueOf(e));
        }
    }

    private final class ApiHandler extends Handler.Abstract {

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String method = request.getMethod();
            String path = Request.getPathInContext(request);
            PeerIdentity caller = null;
            try {
                caller = caller(request);
                Router.Match match = router.match(method, path);
                if (match.target() instanceof Router.StreamTarget stream) {
                    openStream(stream.hub(), request, response, callback, caller);
                    return true;
                }
                byte[] body = readBody(request);
                ApiRequest req = new ApiRequest(method, path, match.params(), query(request), caller, body);
                ApiResponse res = ((Router.JsonTarget) match.target()).route().handle(req);
                log(caller, method, path, res.status());
                writeJson(response, callback, res.status(), res.body());
            } catch (ApiException e) {
                log(caller, method, path, e.status());
                if (e instanceof Router.MethodNotAllowed m) {
                    response.getHeaders().put(HttpHeader.ALLOW, String.join(", ", m.allowed()));
                }
                writeJson(response, callback, e.status(), new ErrorBody(e.code(), e.getMessage()));
            } catch (Exception e) {
                LOG.error("{} {} by {} failed", method, path, caller == null ? "?" : caller.describe(), e);
                writeJson(response, callback, 500, new ErrorBody("internal", "the agent failed to handle " + method
                        + " " + path + " (" + e.getClass().getSimpleName() + "); the agent log has the details"));
            }
            return true;
        }

        private PeerIdentity caller(Request request) {
            Object ssl = request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE);
            X509Certificate[] certs = ssl instanceof EndPoint.SslSessionData d ? d.peerCertificates() : null;
            if (certs == null || certs.length == 0) {
                // cannot happen with needClientAuth, but a handler must never run for an unknown caller
                throw new ApiException(401, "unauthenticated", "no client certificate; call the API with an"
                        + " operator certificate from 'sealift ca enroll --operator NAME'");
            }
            PeerIdentity id = PeerIdentity.of(((EndPoint.SslSessionData) ssl).sslSession()).orElse(null);
            if (id == null || id.role() != Role.OPERATOR) {
                throw new ApiException(403, "forbidden", "the management API accepts operator certificates only");
            }
            return id;
        }

        private byte[] readBody(Request request) throws IOException {
            String method = request.getMethod();
            long declared = request.getLength();
            boolean hasBody = declared > 0 || (declared < 0 && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING));
            if (!hasBody) {
                return new byte[0];
            }
            if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method) || HttpMethod.DELETE.is(method)) {
                // these carry no body in this API; refuse rather than guess what the body meant
                throw ApiException.badRequest("unexpected_body", method + " requests take no body in this API;"
                        + " send parameters in the query string");
            }
            String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
            String mime = type == null ? "" : type.split(";", 2)[0].trim();
            if (!Json.MEDIA_TYPE.equalsIgnoreCase(mime)) {
                throw new ApiException(415, "unsupported_media_type", "the body is "
                        + (type == null ? "sent without a Content-Type" : "of type '" + type + "'")
                        + ", but this API reads JSON only; send Content-Type: application/json");
            }
            if (declared > settings.maxBodyBytes()) {
                throw tooLarge(declared);
            }
            try (InputStream in = Content.Source.asInputStream(request)) {
                byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, settings.maxBodyBytes() + 1));
                if (body.length > settings.maxBodyBytes()) {
                    throw tooLarge(-1);
                }
                return body;
            }
        }

        private ApiException tooLarge(long declared) {
            return new ApiException(413, "payload_too_large", "the request body"
                    + (declared > 0 ? " is " + declared + " bytes, over" : " exceeds") + " this agent's limit of "
                    + settings.maxBodyBytes() + " bytes (api.max-body-bytes); API requests are small JSON objects,"
                    + " so check what is being sent");
        }

        private Map<String, List<String>> query(Request request) {
            Fields fields = Request.extractQueryParameters(request);
            Map<String, List<String>> out = new LinkedHashMap<>();
            for (Fields.Field f : fields) {
                out.put(f.getName(), new ArrayList<>(f.getValues()));
            }
            return out;
        }

        private void openStream(EventHub hub, Request request, Response response, Callback callback,
                PeerIdentity caller) {
            Set<String> types = new LinkedHashSet<>();
            Fields q = Request.extractQueryParameters(request);
            String t = q.getValue("types");
            if (t != null && !t.isBlank()) {
                types.addAll(Arrays.asList(t.split(",")));
            }
            long last = -1; // no header: no replay; "0" (a client that saw nothing yet) replays everything held
            String lastHeader = request.getHeaders().get("Last-Event-ID");
            if (lastHeader != null) {
                try {
                    last = Long.parseLong(lastHeader.trim());
                } catch (NumberFormatException e) {
                    throw ApiException.badRequest("invalid_header", "Last-Event-ID '" + lastHeader
                            + "' is not an event id; send the id of the last event received, or omit the header");
                }
            }
            response.setStatus(200);
            HttpFields.Mutable h = response.getHeaders();
            h.put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            h.put(HttpHeader.CACHE_CONTROL, "no-store");
            LOG.info("{} opened the event stream{}", caller.describe(), types.isEmpty() ? "" : " for " + types);
            SseStream stream = new SseStream(response, callback, settings.sseMaxQueued());
            // the greeting commits the headers, so a client knows at once that the stream is open, and it is
            // written only once the subscription exists: no event published after that moment is missed
            hub.subscribe(stream, types, last, "retry: 3000\n: sealift event stream\n\n");
        }
    }

    private static void log(PeerIdentity caller, String method, String path, int status) {
        String who = caller == null ? "unauthenticated client" : caller.describe();
        if (HttpMethod.GET.is(method) && status < 400) {
            LOG.debug("{} {} {} -> {}", who, method, path, status);
        } else {
            LOG.info("{} {} {} -> {}", who, method, path, status);
        }
    }

    static void writeJson(Response response, Callback callback, int status, Object body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.write(true, ByteBuffer.wrap(Json.write(body)), callback);
    }

    /** Errors Jetty raises before or around our handler (bad HTTP, headers too large, ...) in the API's shape. */
    static final class JsonErrorHandler extends ErrorHandler {

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            int status = response.getStatus() > 0 ? response.getStatus() : 500;
            Object msg = request.getAttribute(ERROR_MESSAGE);
            writeJson(response, callback, status, body(status, msg == null ? null : msg.toString()));
            return true;
        }

        static ErrorBody body(int status, String reason) {
            String code = switch (status) {
                case 400 -> "bad_request";
                case 404 -> "not_found";
                case 405 -> "method_not_allowed";
                case 408 -> "request_timeout";
                case 413 -> "payload_too_large";
                case 414 -> "uri_too_long";
                case 415 -> "unsupported_media_type";
                case 431 -> "headers_too_large";
                default -> status >= 500 ? "internal" : "http_" + status;
            };
            String text = HttpStatus.getMessage(status);
            String detail = reason == null || reason.isBlank() || reason.equals(text) ? "" : " (" + reason + ")";
            return new ErrorBody(code, "the HTTP request was refused: " + status + " " + text + detail
                    + "; check the request against docs/api.md");
        }
    }
}
