package org.sealift.agent.daemon;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;

import org.sealift.agent.api.Json;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.lab.Lab;
import org.sealift.agent.lab.LabInfo;
import org.sealift.agent.tls.SealiftTls;
import org.sealift.agent.tls.TlsCredentials;

import com.fasterxml.jackson.databind.JsonNode;

/** The management API of a running lab's agents, as the lab operator calls it (tests). */
final class LabApi {

    final Lab lab;
    final TlsCredentials operator;

    LabApi(Lab lab) throws Exception {
        this.lab = lab;
        LabInfo.Operator op = lab.info().operator();
        this.operator = TlsCredentials.load(Path.of(op.cert()), Path.of(op.key()), Path.of(op.ca()),
                Clock.systemUTC());
    }

    LabInfo.Agent agent(String host) {
        return lab.info().agent(host).orElseThrow();
    }

    AgentClient client(String host) throws Exception {
        return new AgentClient(host, URI.create(agent(host).api()), operator, Clock.systemUTC());
    }

    JsonNode get(String host, String path) throws Exception {
        return client(host).get(path);
    }

    JsonNode post(String host, String path, Object body) throws Exception {
        return client(host).post(path, body);
    }

    /** A raw request: status and body, for malformed input. */
    HttpResponse<String> raw(String host, String method, String path, String contentType, byte[] body)
            throws Exception {
        SSLContext ctx = SealiftTls.managementApiClient(operator, host, Clock.systemUTC());
        HttpClient c = HttpClient.newBuilder().sslContext(ctx).sslParameters(SealiftTls.parameters(ctx, false))
                .build();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(agent(host).api() + path))
                .timeout(Duration.ofSeconds(60)).method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (body.length > 64 * 1024) {
            // the agent refuses an oversized body from its headers: wait for its answer before sending it
            b.expectContinue(true);
        }
        return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until the migration is no longer running (its outcome event was published) and returns its view. */
    JsonNode awaitEnd(String host, String id) throws Exception {
        while (true) {
            JsonNode v = get(host, "/v1/migrations/" + id);
            String state = v.path("state").asText();
            if (!state.equals("running") && !state.equals("finishing")) {
                return v;
            }
            Thread.sleep(200);
        }
    }

    /** Waits until the migration reached {@code phase} (or ended). */
    JsonNode awaitPhase(String host, String id, String phase) throws Exception {
        while (true) {
            JsonNode v = get(host, "/v1/migrations/" + id);
            if (v.path("phase").asText().equals(phase) || !v.path("state").asText().equals("running")) {
                return v;
            }
            Thread.sleep(100);
        }
    }

    /** Every VM of every lab host as "host/name/state", for "nothing changed" checks. */
    List<String> inventory() throws Exception {
        List<String> out = new ArrayList<>();
        for (LabInfo.Agent a : lab.info().agents()) {
            for (JsonNode v : get(a.host(), "/v1/vms")) {
                out.add(a.host() + "/" + v.path("name").asText() + "/" + v.path("state").asText());
            }
        }
        out.sort(null);
        return out;
    }

    /** Running copies of a VM across the lab. */
    int runningCopies(String vm) throws Exception {
        int n = 0;
        for (String s : inventory()) {
            if (s.endsWith("/" + vm + "/RUNNING")) {
                n++;
            }
        }
        return n;
    }

    /** A 16 MiB VM; with {@code protectedPages} > 0 a protected process "vault" whose pages keep changing. */
    void createVm(String host, String name, int protectedPages) throws Exception {
        Map<String, Object> w = protectedPages > 0
                ? Map.of("fillPercent", 50, "workingSetPages", 64, "dirtyPagesPerSecond", 200,
                        "protectedWorkingSetPages", 16, "protectedDirtyPagesPerSecond", 100)
                : Map.of("fillPercent", 50, "workingSetPages", 64, "dirtyPagesPerSecond", 200);
        Map<String, Object> body = protectedPages > 0
                ? Map.of("name", name, "memoryMiB", 16, "protectedProcesses", List.of(Map.of("name", "vault",
                        "firstPfn", 1024, "pages", protectedPages)), "workload", w)
                : Map.of("name", name, "memoryMiB", 16, "workload", w);
        post(host, "/v1/vms", body);
    }

    /**
     * A 32 MiB VM whose memory is all non-zero, with a protected process: under a 1 MiB/s cap its first pre-copy
     * round alone takes many seconds, so a test can act while the migration is in pre-copy.
     */
    void createBusyVm(String host, String name) throws Exception {
        post(host, "/v1/vms", Map.of("name", name, "memoryMiB", 32, "protectedProcesses", List.of(Map.of("name",
                "vault", "firstPfn", 2048, "pages", 128)), "workload", Map.of("fillPercent", 100, "workingSetPages",
                256, "dirtyPagesPerSecond", 500)));
    }

    /** Migration options that keep a busy VM in its first pre-copy round for a long time. */
    static Map<String, Object> slowly(String vm, String to) {
        return Map.of("vm", vm, "to", to, "bandwidthMiBps", 1);
    }

    static String json(Object o) {
        return Json.writeString(o);
    }
}
