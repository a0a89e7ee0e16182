package org.sealift.agent.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.sealift.agent.tls.AttackerTls;
import org.sealift.agent.tls.PeerRefusedException;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TestCluster;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.protocol.pki.Role;

import com.fasterxml.jackson.databind.JsonNode;

/** The management API over real HTTPS on 127.0.0.1: mutual TLS, the JSON error shape, limits, the event stream. */
class ApiServerTest {

    private static final int MAX_BODY = 4096;

    record Echo(String name, int count) {
    }

    private final TestCluster cluster = new TestCluster("test-cluster");
    private final BlockingQueue<PeerRefusedException> refusals = new LinkedBlockingQueue<>();
    private final AtomicInteger hostCalls = new AtomicInteger();
    private final EventHub events = new EventHub(java.time.Duration.ofSeconds(15), 16);
    private ApiServer server;
    private TlsCredentials alice;

    private final HostInfo h1 = new HostInfo("h1", "sim", "9f".repeat(32), true, "policy 'lab' serial 3",
            new HostInfo.Capacity(16384, 12288, 8, 2), HostInfo.Health.ok());

    @BeforeEach
    void start() throws Exception {
        alice = cluster.operator("alice");
        Router router = AgentRoutes.create(() -> {
            hostCalls.incrementAndGet();
            return h1;
        }, events)
                // test-only resources that exercise body handling and failures of the server itself
                .add("POST", "/test/echo", req -> ApiResponse.created(req.body(Echo.class, "echo request")))
                .add("GET", "/test/boom", req -> {
                    throw new IllegalStateException("secret internal detail");
                })
                .add("GET", "/test/unavailable", req -> {
                    throw ApiException.unavailable("hypervisor_unreachable", "the hypervisor of h1 does not answer"
                            + " on its control socket; check that it runs");
                });
        ApiServer.Settings s = new ApiServer.Settings(InetAddress.getLoopbackAddress(), 0, MAX_BODY,
                java.time.Duration.ofSeconds(30), 8, 64);
        server = ApiServer.start(cluster.agent("h1"), router, s, cluster.clock, refusals::add);
    }

    @AfterEach
    void stop() {
        events.close();
        server.close();
    }

    private URI uri(String path) {
        return URI.create("https://127.0.0.1:" + server.port() + path);
    }

    private HttpClient client(SSLContext ctx) {
        return HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false))
                .version(HttpClient.Version.HTTP_1_1).build();
    }

    private HttpClient aliceClient() throws Exception {
        return client(SealiftTls.managementApiClient(alice, "h1", cluster.clock));
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return Json.mapper().readTree(r.body());
    }

    /** The documented error shape: exactly "error" and "message", JSON content type. */
    private static JsonNode error(HttpResponse<String> r, int status, String code) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
        JsonNode n = json(r);
        assertEquals(List.of("error", "message"), fieldNames(n), r.body());
        assertEquals(code, n.get("error").asText(), r.body());
        return n;
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void anOperatorWithAGoodCertificateReadsTheHost() throws Exception {
        HttpResponse<String> r = aliceClient().send(HttpRequest.newBuilder(uri("/v1/host")).build(),
                BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(h1, Json.mapper().readValue(r.body(), HostInfo.class));
        JsonNode n = json(r);
        assertEquals("h1", n.get("hostId").asText());
        assertEquals(12288, n.get("capacity").get("freeMemoryMiB").asLong());
        assertEquals("ok", n.get("health").get("status").asText());
        assertTrue(refusals.isEmpty());
    }

    private void assertRefused(SSLContext attacker) {
        assertThrows(IOException.class, () -> client(attacker)
                .send(HttpRequest.newBuilder(uri("/v1/host")).build(), BodyHandlers.ofString()));
        assertEquals(0, hostCalls.get(), "a refused client must never reach a resource");
    }

    private PeerRefusedException serverRefusal() throws InterruptedException {
        PeerRefusedException e = refusals.poll(30, TimeUnit.SECONDS);
        assertNotNull(e, "the server did not report a refusal");
        return e;
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        assertRefused(AttackerTls.withoutCertificate(cluster.ca.certificate(), Role.AGENT_TLS));
    }

    @Test
    void aClientOfAnotherClusterIsRefused() throws Exception {
        TlsCredentials mallory = new TestCluster("other-cluster").operator("mallory");
        assertRefused(AttackerTls.presenting(mallory, cluster.ca.certificate(), Role.AGENT_TLS));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.FOREIGN_CA, e.problem());
        assertTrue(e.getMessage().contains("CN=mallory is issued by CN=other-cluster"), e.getMessage());
    }

    @Test
    void anExpiredOperatorCertificateIsRefused() throws Exception {
        assertRefused(AttackerTls.presenting(cluster.expiredOperator("bob"), cluster.ca.certificate(),
                Role.AGENT_TLS));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.EXPIRED, e.problem());
        assertTrue(e.getMessage().contains("sealift ca enroll --operator bob"), e.getMessage());
    }

    @Test
    void anotherAgentsCertificateCannotDriveThisHost() throws Exception {
        assertRefused(AttackerTls.presenting(cluster.agent("h2"), cluster.ca.certificate(), Role.AGENT_TLS));
        PeerRefusedException e = serverRefusal();
        assertEquals(PeerRefusedException.Problem.WRONG_ROLE, e.problem());
        assertTrue(e.getMessage().contains("the management API accepts only an operator certificate"),
                e.getMessage());
    }

    @Test
    void theClientRefusesAnAgentOtherThanTheOneItMeant() throws Exception {
        HttpClient wrong = client(SealiftTls.managementApiClient(alice, "h7", cluster.clock));
        IOException e = assertThrows(IOException.class,
                () -> wrong.send(HttpRequest.newBuilder(uri("/v1/host")).build(), BodyHandlers.ofString()));
        assertTrue(String.valueOf(e.getMessage()).contains("expected h7") || causeMentions(e, "expected h7"),
                String.valueOf(e));
        assertEquals(0, hostCalls.get());
    }

    private static boolean causeMentions(Throwable t, String text) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (String.valueOf(c.getMessage()).contains(text)) {
                return true;
            }
        }
        return false;
    }

    private HttpResponse<String> post(String path, String contentType, HttpRequest.BodyPublisher body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(body);
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return aliceClient().send(b.build(), BodyHandlers.ofString());
    }

    @Test
    void aWellFormedBodyIsRead() throws Exception {
        HttpResponse<String> r = post("/test/echo", "application/json; charset=utf-8",
                BodyPublishers.ofString("{\"name\": \"web-01\", \"count\": 3}"));
        assertEquals(201, r.statusCode(), r.body());
        assertEquals(new Echo("web-01", 3), Json.mapper().readValue(r.body(), Echo.class));
    }

    @Test
    void malformedJsonIsA400ThatSaysWhere() throws Exception {
        HttpResponse<String> r = post("/test/echo", "application/json",
                BodyPublishers.ofString("{\"name\": \"web-01\", \"count\": }"));
        JsonNode n = error(r, 400, "malformed_json");
        assertTrue(n.get("message").asText().startsWith("echo request is not valid JSON"), r.body());
        assertTrue(n.get("message").asText().contains("line 1, column"), r.body());
    }

    @Test
    void anUnknownFieldIsA400ThatListsTheKnownOnes() throws Exception {
        HttpResponse<String> r = post("/test/echo", "application/json",
                BodyPublishers.ofString("{\"name\": \"web-01\", \"count\": 3, \"cuont\": 3}"));
        JsonNode n = error(r, 400, "unknown_field");
        assertTrue(n.get("message").asText().contains("unknown field 'cuont'; known fields: count, name"), r.body());
    }

    @Test
    void aMissingFieldIsA400NamingIt() throws Exception {
        HttpResponse<String> r = post("/test/echo", "application/json", BodyPublishers.ofString("{\"name\": \"a\"}"));
        JsonNode n = error(r, 400, "invalid_field");
        assertEquals("echo request: field 'count' is missing or null; give it a value", n.get("message").asText());
    }

    @Test
    void aWrongTypeIsA400NamingTheField() throws Exception {
        HttpResponse<String> r = post("/test/echo", "application/json",
                BodyPublishers.ofString("{\"name\": \"web-01\", \"count\": \"many\"}"));
        JsonNode n = error(r, 400, "invalid_field");
        assertTrue(n.get("message").asText().contains("'count'"), r.body());
    }

    @Test
    void anOversizedBodyIsA413() throws Exception {
        String big = "{\"name\": \"" + "x".repeat(MAX_BODY) + "\", \"count\": 1}";
        JsonNode n = error(post("/test/echo", "application/json", BodyPublishers.ofString(big)), 413,
                "payload_too_large");
        assertTrue(n.get("message").asText().contains("limit of " + MAX_BODY + " bytes (api.max-body-bytes)"));
    }

    @Test
    void anOversizedChunkedBodyWithoutALengthIsA413Too() throws Exception {
        byte[] big = ("{\"name\": \"" + "y".repeat(3 * MAX_BODY) + "\", \"count\": 1}").getBytes();
        HttpResponse<String> r = post("/test/echo", "application/json",
                BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)));
        error(r, 413, "payload_too_large");
    }

    @Test
    void aBodyThatIsNotJsonIsA415() throws Exception {
        JsonNode n = error(post("/test/echo", "text/plain", BodyPublishers.ofString("name=web-01")), 415,
                "unsupported_media_type");
        assertTrue(n.get("message").asText().contains("send Content-Type: application/json"));
    }

    @Test
    void anUnknownPathIsA404() throws Exception {
        HttpResponse<String> r = aliceClient().send(HttpRequest.newBuilder(uri("/v1/hots")).build(),
                BodyHandlers.ofString());
        JsonNode n = error(r, 404, "not_found");
        assertTrue(n.get("message").asText().contains("no API resource at /v1/hots"), r.body());
    }

    @Test
    void aWrongMethodIsA405WithTheAllowedOnes() throws Exception {
        HttpResponse<String> r = post("/v1/host", "application/json", BodyPublishers.ofString("{}"));
        JsonNode n = error(r, 405, "method_not_allowed");
        assertEquals("GET", r.headers().firstValue("allow").orElse(""));
        assertEquals("POST is not supported on /v1/host; use GET", n.get("message").asText());
        assertEquals(0, hostCalls.get());
    }

    @Test
    void anInternalFailureIsA500WithoutItsDetails() throws Exception {
        HttpResponse<String> r = aliceClient().send(HttpRequest.newBuilder(uri("/test/boom")).build(),
                BodyHandlers.ofString());
        JsonNode n = error(r, 500, "internal");
        assertFalse(r.body().contains("secret internal detail"), r.body());
        assertTrue(n.get("message").asText().contains("the agent log has the details"));
    }

    @Test
    void aResourceThatCannotAnswerSaysWhy() throws Exception {
        HttpResponse<String> r = aliceClient().send(HttpRequest.newBuilder(uri("/test/unavailable")).build(),
                BodyHandlers.ofString());
        JsonNode n = error(r, 503, "hypervisor_unreachable");
        assertTrue(n.get("message").asText().contains("check that it runs"));
    }

    @Test
    void aBadHttpRequestGetsTheJsonShapeToo() throws Exception {
        // a header over the 16 KiB limit is refused by Jetty itself, before any handler
        HttpResponse<String> r = aliceClient().send(HttpRequest.newBuilder(uri("/v1/host"))
                .header("X-Padding", "z".repeat(20_000)).build(), BodyHandlers.ofString());
        JsonNode n = error(r, 431, "headers_too_large");
        assertTrue(n.get("message").asText().contains("431"), r.body());
    }

    /** Reads SSE lines until an event's data line; returns "id|event|data". */
    private static String nextEvent(Iterator<String> lines) {
        String id = null;
        String type = null;
        while (lines.hasNext()) {
            String l = lines.next();
            if (l.startsWith("id: ")) {
                id = l.substring(4);
            } else if (l.startsWith("event: ")) {
                type = l.substring(7);
            } else if (l.startsWith("data: ")) {
                return id + "|" + type + "|" + l.substring(6);
            }
        }
        return null;
    }

    @Test
    void theEventStreamDeliversPublishedEventsInOrder() throws Exception {
        HttpResponse<Stream<String>> all = aliceClient().send(HttpRequest.newBuilder(uri("/v1/events")).build(),
                BodyHandlers.ofLines());
        HttpResponse<Stream<String>> rounds = aliceClient().send(
                HttpRequest.newBuilder(uri("/v1/events?types=round")).build(), BodyHandlers.ofLines());
        assertEquals(200, all.statusCode());
        assertEquals("text/event-stream; charset=utf-8", all.headers().firstValue("content-type").orElse(""));
        assertEquals(2, events.subscriberCount(), "headers arrive only once the subscription exists");

        events.publish("phase", new Phase("m-1", "PRECOPY"));
        events.publish("round", new Round("m-1", 1, 262144));
        events.publish("phase", new Phase("m-1", "COMMITTED"));

        Iterator<String> a = all.body().iterator();
        assertEquals("1|phase|{\"migrationId\":\"m-1\",\"phase\":\"PRECOPY\"}", nextEvent(a));
        assertEquals("2|round|{\"migrationId\":\"m-1\",\"round\":1,\"pages\":262144}", nextEvent(a));
        assertEquals("3|phase|{\"migrationId\":\"m-1\",\"phase\":\"COMMITTED\"}", nextEvent(a));
        Iterator<String> r = rounds.body().iterator();
        assertEquals("2|round|{\"migrationId\":\"m-1\",\"round\":1,\"pages\":262144}", nextEvent(r));

        // a client reconnecting after event 1 catches up from the replay
        HttpResponse<Stream<String>> again = aliceClient().send(HttpRequest.newBuilder(uri("/v1/events"))
                .header("Last-Event-ID", "1").build(), BodyHandlers.ofLines());
        Iterator<String> g = again.body().iterator();
        assertEquals("2|round|{\"migrationId\":\"m-1\",\"round\":1,\"pages\":262144}", nextEvent(g));
        assertEquals("3|phase|{\"migrationId\":\"m-1\",\"phase\":\"COMMITTED\"}", nextEvent(g));
        // a client that saw nothing yet (Last-Event-ID: 0) gets everything retained, from the first event on
        HttpResponse<Stream<String>> fromStart = aliceClient().send(HttpRequest.newBuilder(uri("/v1/events"))
                .header("Last-Event-ID", "0").build(), BodyHandlers.ofLines());
        Iterator<String> z = fromStart.body().iterator();
        assertEquals("1|phase|{\"migrationId\":\"m-1\",\"phase\":\"PRECOPY\"}", nextEvent(z));
        assertEquals("2|round|{\"migrationId\":\"m-1\",\"round\":1,\"pages\":262144}", nextEvent(z));
        assertEquals("3|phase|{\"migrationId\":\"m-1\",\"phase\":\"COMMITTED\"}", nextEvent(z));

        // closing the hub (agent shutdown) ends every stream cleanly
        events.close();
        assertEquals(null, nextEvent(a));
        assertEquals(null, nextEvent(r));
        assertEquals(null, nextEvent(g));
        assertEquals(null, nextEvent(z), "after the replay it ends with the hub like the others");
    }

    record Phase(String migrationId, String phase) {
    }

    record Round(String migrationId, int round, long pages) {
    }
}
