package org.sealift.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.cli.ClientCommands;
import org.sealift.agent.lab.Lab;
import org.sealift.agent.lab.LabInfo;
import org.sealift.agent.tls.AttackerTls;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Role;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The agent daemon end to end: a lab of real processes on loopback (hypervisor and agent per host, h4 a hypervisor
 * build not in the policy), driven through the management API as an operator would. Migrations in both modes and
 * back, the event stream, the hypervisor's lock and cancel, bad input that must change nothing, refused
 * certificates, tokens, the attestation log and its verification, and an agent killed mid-migration.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DaemonApiTest {

    @TempDir
    static Path tmp;
    static Lab lab;
    static LabApi api;
    static String committedSecure;

    @BeforeAll
    static void startLab() throws Exception {
        lab = Lab.start(tmp.resolve("lab"), Lab.Options.defaults().withoutDemoVms(), System.err);
        api = new LabApi(lab);
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            List<Long> pids = lab.pids();
            lab.close();
            for (long pid : pids) {
                assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                        "process " + pid + " of the lab still runs after close");
            }
        }
    }

    @Test
    @Order(1)
    void hostsReportWhatTheirHypervisorsSay() throws Exception {
        JsonNode h1 = api.get("h1", "/v1/host");
        assertEquals("h1", h1.path("hostId").asText());
        assertTrue(h1.path("attested").asBoolean(), h1.toString());
        assertEquals("ok", h1.path("health").path("status").asText(), h1.toString());
        assertEquals(64, h1.path("measurement").asText().length());
        JsonNode h4 = api.get("h4", "/v1/host");
        assertFalse(h4.path("attested").asBoolean(), h4.toString());
        assertEquals("down", h4.path("health").path("status").asText());
        assertTrue(h4.path("health").path("problems").toString().contains("is not in policy"), h4.toString());
        assertFalse(h1.path("measurement").asText().equals(h4.path("measurement").asText()),
                "the rogue build has its own measurement");
    }

    @Test
    @Order(2)
    void secureMigrationThereAndBackWithEventsAndASignedRecord() throws Exception {
        api.createVm("h1", "sec-a", 256);
        List<AgentClient.Event> events = new ArrayList<>();
        JsonNode started;
        try (AgentClient.EventStream stream = api.client("h1").events("round,phase,outcome")) {
            started = api.post("h1", "/v1/migrations", Map.of("vm", "sec-a", "to", "h2"));
            assertEquals("running", started.path("state").asText());
            String id = started.path("id").asText();
            while (true) {
                AgentClient.Event e = stream.next(ev -> id.equals(ev.data().path("migrationId").asText())
                        || id.equals(ev.data().path("id").asText())).orElseThrow();
                events.add(e);
                if (e.type().equals("outcome")) {
                    break;
                }
            }
        }
        JsonNode outcome = events.get(events.size() - 1).data();
        assertEquals("COMMITTED", outcome.path("outcome").asText(), outcome.toString());
        // every phase and round carries the agent's time, in order, so a late client can draw the timeline
        long last = 0;
        for (AgentClient.Event e : events) {
            if (e.type().equals("phase") || e.type().equals("round")) {
                long at = e.data().path("at").asLong();
                assertTrue(at >= last && at > 1_700_000_000_000L, e.type() + " at " + at + " after " + last);
                last = at;
            }
        }
        assertTrue(events.stream().anyMatch(e -> e.type().equals("round")), "round events were streamed");
        assertTrue(events.stream().anyMatch(e -> e.type().equals("phase")
                && e.data().path("phase").asText().equals("RELEASED")), "phase events were streamed");
        assertTrue(outcome.path("totals").path("pagesProtected").asLong() >= 256, outcome.toString());
        JsonNode ref = outcome.path("attestation");
        assertTrue(ref.path("signedByBoth").asBoolean(), outcome.toString());
        assertEquals("COMMITTED", ref.path("outcome").asText());
        // the same record, countersigned, is in both hosts' logs
        JsonNode atSource = api.get("h1", "/v1/attestations/" + ref.path("index").asLong());
        assertEquals(started.path("id").asText(), atSource.path("record").path("migrationId").asText());
        assertTrue(atSource.path("signedBySource").asBoolean() && atSource.path("signedByDestination").asBoolean());
        JsonNode dstLog = api.get("h2", "/v1/attestations");
        assertTrue(dstLog.path("entries").toString().contains(started.path("id").asText()), dstLog.toString());
        assertEquals(List.of("h2/sec-a/RUNNING"), api.inventory().stream().filter(s -> s.contains("/sec-a/"))
                .toList());
        committedSecure = started.path("id").asText();

        JsonNode back = api.post("h2", "/v1/migrations", Map.of("vm", "sec-a", "to", "h1", "mode", "secure"));
        JsonNode end = api.awaitEnd("h2", back.path("id").asText());
        assertEquals("COMMITTED", end.path("outcome").asText(), end.toString());
        assertEquals(List.of("h1/sec-a/RUNNING"), api.inventory().stream().filter(s -> s.contains("/sec-a/"))
                .toList());
    }

    @Test
    @Order(3)
    void plainMigrationThereAndBack() throws Exception {
        api.createVm("h1", "plain-a", 0);
        JsonNode there = api.awaitEnd("h1", api.post("h1", "/v1/migrations", Map.of("vm", "plain-a", "to", "h3",
                "mode", "plain")).path("id").asText());
        assertEquals("COMMITTED", there.path("outcome").asText(), there.toString());
        assertTrue(there.path("attestationNote").asText().contains("plain migration"), there.toString());
        JsonNode back = api.awaitEnd("h3", api.post("h3", "/v1/migrations", Map.of("vm", "plain-a", "to", "h1",
                "mode", "plain", "maxRounds", 3)).path("id").asText());
        assertEquals("COMMITTED", back.path("outcome").asText(), back.toString());
        assertEquals(List.of("h1/plain-a/RUNNING"), api.inventory().stream().filter(s -> s.contains("/plain-a/"))
                .toList());
    }

    private static void assertError(int status, String code, String text, HttpResponse<String> r) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"error\":\"" + code + "\""), r.body());
        assertTrue(r.body().contains(text), r.body());
    }

    private static HttpResponse<String> migrate(String host, Object body) throws Exception {
        return api.raw(host, "POST", "/v1/migrations", "application/json", LabApi.json(body).getBytes(
                StandardCharsets.UTF_8));
    }

    @Test
    @Order(4)
    void badRequestsAreRefusedWithAReasonAndChangeNothing() throws Exception {
        api.createVm("h1", "guarded", 128);
        List<String> before = api.inventory();
        assertError(400, "malformed_json", "is not valid JSON", api.raw("h1", "POST", "/v1/migrations",
                "application/json", "{\"vm\": \"guarded\", ".getBytes(StandardCharsets.UTF_8)));
        assertError(413, "payload_too_large", "api.max-body-bytes", api.raw("h1", "POST", "/v1/migrations",
                "application/json", ("{\"vm\":\"" + "x".repeat(2 << 20) + "\"}").getBytes(StandardCharsets.UTF_8)));
        assertError(400, "unknown_field", "'destination'", migrate("h1", Map.of("vm", "guarded", "destination",
                "h2")));
        assertError(404, "not_found", "there is no VM nosuch on host h1", migrate("h1", Map.of("vm", "nosuch",
                "to", "h2")));
        assertError(400, "unknown_host", "host h9 is not known to agent h1", migrate("h1", Map.of("vm", "guarded",
                "to", "h9")));
        assertError(400, "migrate_to_self", "already on host h1", migrate("h1", Map.of("vm", "guarded", "to",
                "h1")));
        assertError(400, "invalid_field", "mode 'fast' is unknown", migrate("h1", Map.of("vm", "guarded", "to",
                "h2", "mode", "fast")));
        assertError(400, "invalid_field", "max rounds 0 is out of range", migrate("h1", Map.of("vm", "guarded",
                "to", "h2", "maxRounds", 0)));
        assertError(400, "invalid_field", "attack 'melt' is unknown", migrate("h1", Map.of("vm", "guarded", "to",
                "h2", "inject", "melt")));
        // plain mode for a VM with a protected process: the hypervisor itself refuses
        assertError(409, "protected_vm", "has protected processes (vault)", migrate("h1", Map.of("vm", "guarded",
                "to", "h2", "mode", "plain")));
        assertError(404, "not_found", "no API resource", api.raw("h1", "POST", "/v1/migration", "application/json",
                "{}".getBytes(StandardCharsets.UTF_8)));
        assertError(400, "invalid_field", "memory 0 MiB is out of range", api.raw("h1", "POST", "/v1/vms",
                "application/json", "{\"name\":\"z\",\"memoryMiB\":0}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(before, api.inventory(), "refused requests changed nothing");
        assertEquals(0, api.get("h1", "/v1/in-doubt").size());
    }

    @Test
    @Order(5)
    void aPeerWhoseMeasurementIsNotInPolicyIsRejectedByTheHypervisors() throws Exception {
        List<String> before = api.inventory();
        JsonNode v = api.awaitEnd("h1", api.post("h1", "/v1/migrations", Map.of("vm", "guarded", "to", "h4"))
                .path("id").asText());
        assertEquals("REJECTED", v.path("outcome").asText(), v.toString());
        assertTrue(v.path("reason").asText().contains("is not in policy"), v.toString());
        assertEquals("REJECTED", v.path("attestation").path("outcome").asText(), v.toString());
        assertEquals(5, ClientCommands.exitCode(v));
        assertEquals(before, api.inventory(), "the VM stays where it was, nothing is left at h4");
    }

    @Test
    @Order(6)
    void aSecondMigrationIsRefusedByTheHypervisorsLockAndCancelAbortsForReal() throws Exception {
        api.createBusyVm("h1", "busy");
        JsonNode first = api.post("h1", "/v1/migrations", LabApi.slowly("busy", "h2"));
        String id = first.path("id").asText();
        assertEquals("PRECOPY", api.awaitPhase("h1", id, "PRECOPY").path("phase").asText());
        HttpResponse<String> second = migrate("h1", Map.of("vm", "busy", "to", "h3"));
        assertError(409, "vm_locked", "already in migration " + id, second);
        assertTrue(second.body().contains("the hypervisor of host h1 refused"), second.body());

        JsonNode c = api.post("h1", "/v1/migrations/" + id + "/cancel", null);
        assertEquals(id, c.path("id").asText());
        JsonNode end = api.awaitEnd("h1", id);
        assertEquals("ABORTED_BY_SOURCE", end.path("outcome").asText(), end.toString());
        assertTrue(end.path("reason").asText().contains("cancelled by the operator"), end.toString());
        assertEquals(1, api.runningCopies("busy"));
        assertTrue(api.inventory().contains("h1/busy/RUNNING"), api.inventory().toString());
        assertFalse(api.inventory().stream().anyMatch(s -> s.startsWith("h2/busy/")), "the destination's copy is"
                + " gone: " + api.inventory());
        api.raw("h1", "DELETE", "/v1/vms/busy", null, new byte[0]);
        assertError(409, "finished", "has already ended", api.raw("h1", "POST", "/v1/migrations/" + id + "/cancel",
                null, new byte[0]));
    }

    @Test
    @Order(7)
    void afterReleaseACancelIsRefusedAndAWithheldDoneIsResolvedByReservingRelease() throws Exception {
        api.createVm("h1", "held", 64);
        String id = api.post("h1", "/v1/migrations", Map.of("vm", "held", "to", "h2", "inject", "hold-done"))
                .path("id").asText();
        assertEquals("RELEASED", api.awaitPhase("h1", id, "RELEASED").path("phase").asText());
        assertError(409, "released", "past RELEASE", api.raw("h1", "POST", "/v1/migrations/" + id + "/cancel",
                null, new byte[0]));
        // DONE never reaches the source: after its deadline the migration is in doubt, the VM paused at h1
        JsonNode doubt = api.awaitEnd("h1", id);
        if (doubt.path("state").asText().equals("in_doubt")) {
            assertEquals(4, ClientCommands.exitCode(doubt));
        } else {
            // the agent settled it before this poll (200 ms) saw the doubt: its record shows it went through it
            assertTrue(doubt.path("anomalies").toString().contains("DONE not received within"), doubt.toString());
        }
        // the agent re-serves RELEASE to h2 and imports its DONE: settled, one running copy, at h2
        JsonNode settled;
        do {
            Thread.sleep(300);
            settled = api.get("h1", "/v1/migrations/" + id);
        } while (settled.path("state").asText().equals("in_doubt"));
        assertEquals("COMMITTED", settled.path("outcome").asText(), settled.toString());
        assertTrue(settled.path("reason").asText().contains("re-served RELEASE"), settled.toString());
        assertEquals(1, api.runningCopies("held"));
        assertTrue(api.inventory().contains("h2/held/RUNNING"), api.inventory().toString());
        assertFalse(api.inventory().stream().anyMatch(s -> s.startsWith("h1/held/")), api.inventory().toString());
    }

    @Test
    @Order(8)
    void releaseTokensExportAndImportWithoutASecondCopy() throws Exception {
        assertNotNull(committedSecure);
        JsonNode t = api.get("h1", "/v1/in-doubt/" + committedSecure + "/token?kind=release");
        assertTrue(t.path("file").asText().startsWith("SEALIFT-TOKEN 1\nkind: RELEASE"), t.toString());
        // re-serving RELEASE to the destination that already resumed: accepted, still one copy
        JsonNode d = api.post("h2", "/v1/in-doubt/" + committedSecure + "/token", Map.of("token",
                t.path("file").asText()));
        assertEquals("COMMITTED", d.path("state").asText(), d.toString());
        assertEquals(1, api.runningCopies("sec-a"));
        // a RELEASE token is imported at the destination, never at its source
        HttpResponse<String> wrong = api.raw("h1", "POST", "/v1/in-doubt/" + committedSecure + "/token",
                "application/json", LabApi.json(Map.of("token", t.path("file").asText())).getBytes(
                        StandardCharsets.UTF_8));
        assertEquals(409, wrong.statusCode(), wrong.body());
        assertTrue(wrong.body().contains("imported at the destination"), wrong.body());
        String edited = t.path("file").asText().replaceFirst("signature: (.)", "signature: f");
        HttpResponse<String> forged = api.raw("h2", "POST", "/v1/in-doubt/" + committedSecure + "/token",
                "application/json", LabApi.json(Map.of("token", edited.equals(t.path("file").asText())
                        ? edited.replaceFirst("signature: f", "signature: 0") : edited)).getBytes(
                                StandardCharsets.UTF_8));
        assertTrue(forged.statusCode() == 400 || forged.statusCode() == 409, forged.body());
        assertEquals(1, api.runningCopies("sec-a"));
    }

    @Test
    @Order(9)
    void theAttestationLogPagesAndVerifiesAndATruncatedLogIsCaught() throws Exception {
        JsonNode page = api.get("h1", "/v1/attestations?from=0&limit=1");
        assertEquals(1, page.path("entries").size());
        assertTrue(page.path("size").asLong() >= 3, page.toString());
        assertEquals(0, page.path("entries").get(0).path("index").asLong());
        JsonNode agentCheck = api.post("h1", "/v1/attestations/verify", Map.of()).path("agentCheck");
        assertTrue(agentCheck.path("ok").asBoolean(), agentCheck.toString());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String labDir = lab.dir().toString();
        // one record saved as a file verifies offline; the same record with one changed byte does not
        Path record = tmp.resolve("record.pem");
        Files.writeString(record, page.path("entries").get(0).path("pem").asText());
        assertEquals(0, cli(out, "verify", record.toString(), "--lab", "--lab-dir", labDir), out.toString());
        assertTrue(out.toString().contains("(1 record): OK"), out.toString());
        org.sealift.protocol.attest.SignedRecord sr = org.sealift.protocol.attest.SignedRecord.load(record);
        byte[] enc = sr.encoded();
        enc[enc.length - 1] ^= 1; // a bit of the last signature
        Files.writeString(record, org.sealift.protocol.pki.Pem.encode(
                org.sealift.protocol.attest.SignedRecord.PEM_TYPE, enc));
        out.reset();
        assertEquals(1, cli(out, "verify", record.toString(), "--lab", "--lab-dir", labDir), out.toString());
        assertTrue(out.toString().contains("signature does not verify"), out.toString());

        assertEquals(0, cli(out, "verify", "--lab", "--lab-dir", labDir, "--agent", "h2"), out.toString());
        assertTrue(out.toString().contains("attestation log of host h2"), out.toString());

        // dom0 truncates h2's log file (drops the newest entry) and the agent restarts on it
        Path file = Path.of(labDir, "hosts", "h2", "agent", AttestationStore.LOG_FILE);
        byte[] original = Files.readAllBytes(file);
        AttestationLog log = AttestationLog.parse(original);
        List<LogEntry> kept = log.entries().subList(0, log.size() - 1);
        AttestationLog.of("h2", kept).save(file);
        lab.restartAgent("h2", false);
        out.reset();
        assertEquals(1, cli(out, "verify", "--lab", "--lab-dir", labDir, "--agent", "h2"), out.toString());
        assertTrue(out.toString().contains("the log was truncated"), out.toString());
        JsonNode h2 = api.get("h2", "/v1/host");
        assertTrue(h2.path("health").path("problems").toString().contains("truncated, rolled back or edited"),
                h2.toString());
        Files.write(file, original);
        lab.restartAgent("h2", false);
        out.reset();
        assertEquals(0, cli(out, "verify", "--lab", "--lab-dir", labDir, "--agent", "h2"), out.toString());
    }

    private static int cli(ByteArrayOutputStream out, String command, String... args) {
        PrintStream p = new PrintStream(out, true, StandardCharsets.UTF_8);
        return new ClientCommands(p, p, Clock.systemUTC(), Map.of()).run(command, List.of(args));
    }

    @Test
    @Order(10)
    void certificatesThatAreNotAnOperatorsOfThisClusterAreRefused() throws Exception {
        LabInfo.Agent h1 = api.agent("h1");
        ClusterCa ca = ClusterCa.load(lab.dir().resolve("ca"));
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        // positive control: the lab operator, through the same raw client, is served
        assertFalse(handshakeRefused(AttackerTls.presenting(api.operator, ca.certificate(), Role.AGENT_TLS),
                h1.api()), "the lab operator must be served");
        // another cluster's operator
        ClusterCa other = ClusterCa.create("other", Instant.now().minusSeconds(60), Duration.ofDays(2));
        X509Certificate foreign = other.issueOperatorCertificate("mallory", kp.getPublic(), Instant.now(),
                Duration.ofDays(1));
        TlsCredentials mallory = TlsCredentials.of(List.of(foreign), kp.getPrivate(), other.certificate(),
                Clock.systemUTC());
        assertTrue(handshakeRefused(AttackerTls.presenting(mallory, ca.certificate(), Role.AGENT_TLS), h1.api()),
                "another CA's operator accepted");
        // an operator certificate that has expired
        Instant issued = Instant.now();
        X509Certificate shortLived = ca.issueOperatorCertificate("bob", kp.getPublic(), issued,
                Duration.ofSeconds(2));
        Thread.sleep(3000);
        TlsCredentials bob = TlsCredentials.of(List.of(shortLived, ca.certificate()), kp.getPrivate(),
                ca.certificate(), Clock.fixed(issued.plusMillis(500), java.time.ZoneOffset.UTC));
        assertTrue(handshakeRefused(AttackerTls.presenting(bob, ca.certificate(), Role.AGENT_TLS), h1.api()),
                "an expired operator certificate accepted");
        // another host's agent certificate (dom0 of h2 driving h1)
        Path h2 = lab.dir().resolve("hosts").resolve("h2").resolve("credentials");
        TlsCredentials h2Agent = TlsCredentials.load(h2.resolve("agent-tls.crt"), h2.resolve("agent-tls.key"),
                h2.resolve("cluster-trust.pem"), Clock.systemUTC());
        assertTrue(handshakeRefused(AttackerTls.presenting(h2Agent, ca.certificate(), Role.AGENT_TLS), h1.api()),
                "an agent certificate accepted on the management API");
        // an operator's certificate on the agent channel, posing as a host
        assertTrue(handshakeRefused(AttackerTls.presenting(api.operator, ca.certificate(), Role.AGENT_TLS),
                "https://" + h1.channel()), "an operator certificate accepted on the agent channel");
        String log = Files.readString(lab.dir().resolve("hosts").resolve("h1").resolve("agent.log"));
        assertTrue(log.contains("expired"), "the agent logs why it refused");
        assertTrue(log.contains("refused a peer on the agent channel"), "the agent logs the channel refusal");
    }

    /** Connects with raw TLS 1.3 and reads: a refused client certificate shows as an alert on the first read. */
    private static boolean handshakeRefused(SSLContext ctx, String url) {
        URI u = URI.create(url);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 10_000);
            s.setSoTimeout(20_000);
            s.startHandshake();
            s.getOutputStream().write("GET /v1/host HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            int b = s.getInputStream().read();
            return b < 0;
        } catch (java.io.IOException e) {
            return true;
        }
    }

    @Test
    @Order(11)
    void anAgentKilledMidMigrationIsRestartedAndSettlesFromTheHypervisorsDecision() throws Exception {
        api.createBusyVm("h3", "crashy");
        String id = api.post("h3", "/v1/migrations", LabApi.slowly("crashy", "h1")).path("id").asText();
        assertEquals("PRECOPY", api.awaitPhase("h3", id, "PRECOPY").path("phase").asText());
        lab.restartAgent("h3", true); // SIGKILL: the agent dies, its hypervisor keeps running
        JsonNode v = api.get("h3", "/v1/migrations/" + id);
        assertEquals("ABORTED_BY_SOURCE", v.path("outcome").asText(), v.toString());
        assertTrue(v.path("reason").asText().contains("agent restarted"), v.toString());
        assertTrue(v.path("attestation").isObject(), "the settled migration has a record: " + v);
        Optional<String> crashyAtH3 = api.inventory().stream().filter(s -> s.startsWith("h3/crashy/")).findFirst();
        assertEquals(Optional.of("h3/crashy/RUNNING"), crashyAtH3, api.inventory().toString());
        assertEquals(1, api.runningCopies("crashy"));
        // the restarted agent works: the VM migrates now
        JsonNode again = api.awaitEnd("h3", api.post("h3", "/v1/migrations", Map.of("vm", "crashy", "to", "h1",
                "maxRounds", 5)).path("id").asText());
        assertEquals("COMMITTED", again.path("outcome").asText(), again.toString());
        assertEquals(1, api.runningCopies("crashy"));
    }

    @Test
    @Order(12)
    void threeMigrationsAtOnceAmongThreeHostsAllCommit() throws Exception {
        Map<String, String> route = Map.of("ring-1", "h1:h2", "ring-2", "h2:h3", "ring-3", "h3:h1");
        for (Map.Entry<String, String> e : route.entrySet()) {
            api.createVm(e.getValue().split(":")[0], e.getKey(), e.getKey().equals("ring-2") ? 0 : 128);
        }
        Map<String, String> ids = new java.util.TreeMap<>();
        for (Map.Entry<String, String> e : route.entrySet()) {
            String[] hops = e.getValue().split(":");
            ids.put(e.getKey(), api.post(hops[0], "/v1/migrations", Map.of("vm", e.getKey(), "to", hops[1]))
                    .path("id").asText());
        }
        for (Map.Entry<String, String> e : ids.entrySet()) {
            String[] hops = route.get(e.getKey()).split(":");
            JsonNode v = api.awaitEnd(hops[0], e.getValue());
            assertEquals("COMMITTED", v.path("outcome").asText(), v.toString());
            assertTrue(v.path("attestation").path("signedByBoth").asBoolean(), v.toString());
        }
        List<String> inv = api.inventory();
        for (Map.Entry<String, String> e : route.entrySet()) {
            String dst = e.getValue().split(":")[1];
            assertEquals(List.of(dst + "/" + e.getKey() + "/RUNNING"), inv.stream().filter(x -> x.contains("/"
                    + e.getKey() + "/")).toList(), inv.toString());
        }
    }

    /**
     * An agent is a daemon: a hundred migrations (fifty as the source on each host) must not exhaust its memory. Each
     * run's streams hold about 12 MiB of direct buffers and the agents run with 512 MiB, so an agent that kept its
     * finished runs' engines (as it once did: it ran out after about forty) fails here.
     */
    @Test
    @Order(13)
    void aHundredMigrationsBackAndForthLeaveTheAgentsWorking() throws Exception {
        api.createVm("h1", "ping", 0);
        String at = "h1";
        for (int i = 0; i < 100; i++) {
            String to = at.equals("h1") ? "h2" : "h1";
            String id = api.post(at, "/v1/migrations", Map.of("vm", "ping", "to", to, "mode", "plain"))
                    .path("id").asText();
            JsonNode v = api.awaitEnd(at, id);
            assertEquals("COMMITTED", v.path("outcome").asText(), "migration " + (i + 1) + ": " + v);
            at = to;
        }
        assertEquals(1, api.runningCopies("ping"));
        assertEquals("ok", api.get("h1", "/v1/host").path("health").path("status").asText());
    }
}
