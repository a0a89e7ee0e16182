package org.sealift.agent.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.api.Json;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.tls.ClusterTrustManager;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.protocol.pki.Role;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The lab control API over real processes: a lab (hypervisor and agent processes per host) whose hosts are crashed
 * and restarted through HTTPS with the lab operator's certificate, as the console does; bad requests and a client
 * with the wrong kind of certificate are refused and change nothing.
 */
class LabControlTest {

    @TempDir
    static Path tmp;
    static Lab lab;
    static HttpClient operator;
    static URI control;

    @BeforeAll
    static void startLab() throws Exception {
        lab = Lab.start(tmp.resolve("lab"), Lab.Options.defaults().withoutDemoVms(), System.err);
        LabInfo info = LabInfo.read(lab.dir()).orElseThrow();
        control = URI.create(info.control());
        TlsCredentials op = TlsCredentials.load(Path.of(info.operator().cert()), Path.of(info.operator().key()),
                Path.of(info.operator().ca()), Clock.systemUTC());
        SSLContext ctx = SealiftTls.managementApiClient(op, LabControl.HOST_ID, Clock.systemUTC());
        operator = HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false)).build();
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.close();
        }
    }

    record Answer(int status, JsonNode body) {
        String message() {
            return body.path("message").asText();
        }
    }

    /** Restarting boots JVMs: minutes on a loaded machine, so a generous hang limit. */
    static Answer call(String method, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(control.resolve(path)).timeout(Duration.ofMinutes(5))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<byte[]> r = operator.send(req, HttpResponse.BodyHandlers.ofByteArray());
        return new Answer(r.statusCode(), Json.mapper().readTree(r.body()));
    }

    static JsonNode host(JsonNode view, String h) {
        for (JsonNode n : view.path("hosts")) {
            if (n.path("host").asText().equals(h)) {
                return n;
            }
        }
        throw new AssertionError("no host " + h + " in " + view);
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The host's agent answers its management API (with the lab operator's certificate). */
    static JsonNode hostInfo(String h) throws Exception {
        LabInfo info = LabInfo.read(lab.dir()).orElseThrow();
        TlsCredentials op = TlsCredentials.load(Path.of(info.operator().cert()), Path.of(info.operator().key()),
                Path.of(info.operator().ca()), Clock.systemUTC());
        return new AgentClient(h, URI.create(info.agent(h).orElseThrow().api()), op, Clock.systemUTC())
                .get("/v1/host");
    }

    @Test
    void hostsAreCrashedAndRestartedThroughTheControlApiAndBadRequestsAreRefused() throws Exception {
        assertEquals("127.0.0.1", control.getHost(), "loopback only: " + control);
        Answer view = call("GET", "/v1/lab");
        assertEquals(200, view.status(), view.body().toString());
        for (String h : new String[] {"h1", "h2", "h3", "h4"}) {
            assertEquals("running", host(view.body(), h).path("agent").asText(), view.body().toString());
            assertEquals("running", host(view.body(), h).path("hypervisor").asText(), view.body().toString());
        }

        Answer unknown = call("POST", "/v1/lab/hosts/h9/crash");
        assertEquals(404, unknown.status());
        assertTrue(unknown.message().contains("no host 'h9'") && unknown.message().contains("h1, h2, h3, h4"),
                unknown.message());
        Answer rogue = call("POST", "/v1/lab/hosts/h4/crash");
        assertEquals(409, rogue.status());
        assertEquals("rogue_host", rogue.body().path("error").asText());
        assertTrue(rogue.message().contains("rogue host") && rogue.message().contains("h1, h2, h3 instead"),
                rogue.message());
        Answer running = call("POST", "/v1/lab/hosts/h2/restart");
        assertEquals(409, running.status());
        assertTrue(running.message().startsWith("host h2 is running") && running.message().contains("crash it"
                + " first"), running.message());
        assertEquals(405, call("GET", "/v1/lab/hosts/h2/crash").status());
        JsonNode h4 = host(call("GET", "/v1/lab").body(), "h4");
        assertTrue(alive(h4.path("agentPid").asLong()) && alive(h4.path("hypervisorPid").asLong()),
                "the refused requests changed nothing: " + h4);

        // the agent alone: its hypervisor keeps running, the agent comes back on its address
        JsonNode h2 = host(view.body(), "h2");
        Answer agentCrash = call("POST", "/v1/lab/hosts/h2/crash-agent");
        assertEquals(200, agentCrash.status(), agentCrash.body().toString());
        assertFalse(alive(h2.path("agentPid").asLong()), "the agent of h2 was killed");
        assertTrue(alive(h2.path("hypervisorPid").asLong()), "its hypervisor keeps running");
        assertEquals("down", host(agentCrash.body(), "h2").path("agent").asText());
        assertEquals("running", host(agentCrash.body(), "h2").path("hypervisor").asText());
        Answer again = call("POST", "/v1/lab/hosts/h2/crash-agent");
        assertEquals(409, again.status());
        assertTrue(again.message().contains("already down") && again.message().contains("/v1/lab/hosts/h2/restart"),
                again.message());
        Answer agentBack = call("POST", "/v1/lab/hosts/h2/restart");
        assertEquals(200, agentBack.status(), agentBack.body().toString());
        assertTrue(agentBack.message().startsWith("the agent of host h2 restarted"), agentBack.message());
        JsonNode h2After = host(agentBack.body(), "h2");
        assertEquals(h2.path("hypervisorPid").asLong(), h2After.path("hypervisorPid").asLong());
        assertNotEquals(h2.path("agentPid").asLong(), h2After.path("agentPid").asLong());
        assertEquals(h2.path("api").asText(), h2After.path("api").asText(), "the agent keeps its address");
        assertEquals("h2", hostInfo("h2").path("hostId").asText());

        // the whole host: agent and hypervisor killed, the hypervisor boots again from its sealed state
        JsonNode h3 = host(view.body(), "h3");
        Answer crash = call("POST", "/v1/lab/hosts/h3/crash");
        assertEquals(200, crash.status(), crash.body().toString());
        assertTrue(crash.message().startsWith("host h3 crashed"), crash.message());
        assertFalse(alive(h3.path("agentPid").asLong()), "the agent of h3 was killed");
        assertFalse(alive(h3.path("hypervisorPid").asLong()), "the hypervisor of h3 was killed");
        assertThrows(AgentClient.Unreachable.class, () -> hostInfo("h3"));
        Answer crashAgain = call("POST", "/v1/lab/hosts/h3/crash");
        assertEquals(409, crashAgain.status());
        assertEquals("host_down", crashAgain.body().path("error").asText());
        assertTrue(crashAgain.message().contains("already down"), crashAgain.message());
        Answer back = call("POST", "/v1/lab/hosts/h3/restart");
        assertEquals(200, back.status(), back.body().toString());
        assertTrue(back.message().startsWith("host h3 restarted: its hypervisor booted from its sealed state"),
                back.message());
        JsonNode h3After = host(back.body(), "h3");
        assertTrue(alive(h3After.path("agentPid").asLong()) && alive(h3After.path("hypervisorPid").asLong()),
                h3After.toString());
        assertEquals(h3.path("api").asText(), h3After.path("api").asText());
        JsonNode info = hostInfo("h3");
        assertEquals("h3", info.path("hostId").asText());
        assertTrue(info.path("attested").asBoolean(), "the rebooted hypervisor is the same attested build: " + info);
        LabInfo written = LabInfo.read(lab.dir()).orElseThrow();
        assertEquals(h3After.path("hypervisorPid").asLong(), written.agent("h3").orElseThrow().hypervisorPid(),
                "lab.json names the new processes");
    }

    @Test
    void aClientWithAnAgentCertificateInsteadOfAnOperatorsIsRefusedInTheHandshake() throws Exception {
        Path creds = lab.dir().resolve("hosts").resolve("h1").resolve("credentials");
        TlsCredentials agent = TlsCredentials.load(creds.resolve("agent-tls.crt"), creds.resolve("agent-tls.key"),
                creds.resolve("cluster-trust.pem"), Clock.systemUTC());
        SSLContext ctx = SealiftTls.context(agent, new ClusterTrustManager(agent.clusterCa(), Set.of(Role.AGENT_TLS),
                "the lab control API", LabControl.HOST_ID, Clock.systemUTC(), null));
        HttpClient h1 = HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false))
                .build();
        HttpRequest req = HttpRequest.newBuilder(control.resolve("/v1/lab/hosts/h2/crash"))
                .timeout(Duration.ofMinutes(1)).POST(HttpRequest.BodyPublishers.noBody()).build();
        assertThrows(IOException.class, () -> h1.send(req, HttpResponse.BodyHandlers.ofString()),
                "another host's dom0 must not crash lab hosts");
        JsonNode h2 = host(call("GET", "/v1/lab").body(), "h2");
        assertEquals("running", h2.path("agent").asText(), h2.toString());
    }
}
