package org.sealift.agent.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sealift.agent.api.Json;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.lab.LabInfo;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.Challenge;
import org.sealift.protocol.attest.LogVerifier;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.attest.VerificationResult;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.SignedPolicy;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The operator's commands against running agents: {@code migrate}, {@code verify}, {@code vms}, {@code hosts},
 * {@code in-doubt}. Exit codes of {@code migrate}: 0 COMMITTED, 2 usage, 3 agent unreachable or request refused,
 * 4 ABORTED (or still in doubt), 5 REJECTED or aborted because an attack or the policy was detected. The others:
 * 0 done (verify: everything verifies), 1 verification failed, 2 usage, 3 agent unreachable or refused.
 */
public final class ClientCommands {

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;
    static final int ABORTED = 4;
    static final int REJECTED = 5;

    /** Protocol reasons that mean an attack or the policy stopped the migration (exit 5 rather than 4). */
    static final Set<String> SECURITY_REASONS = Set.of("TAMPERED", "REPLAY", "REORDERED", "UNEXPECTED_RECORD",
            "UNKNOWN_MANDATORY_RECORD", "MALFORMED", "DOWNGRADE", "UNATTESTED", "POLICY", "CERTIFICATE",
            "MANIFEST_MISMATCH", "STATE_IN_DOUBT");

    private final PrintStream out;
    private final PrintStream err;
    private final Clock clock;
    private final Map<String, String> env;

    public ClientCommands(PrintStream out, PrintStream err, Clock clock, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.clock = clock;
        this.env = env;
    }

    public int run(String command, List<String> args) {
        try {
            return switch (command) {
                case "migrate" -> migrate(args);
                case "verify" -> verify(args);
                case "vms" -> vms(args);
                case "hosts" -> hosts(args);
                case "in-doubt" -> inDoubt(args);
                default -> throw new UsageException("sealift: unknown command " + command);
            };
        } catch (UsageException e) {
            err.println(e.getMessage());
            return USAGE;
        } catch (CaCommand.Failure e) {
            err.println(e.getMessage());
            return UNREACHABLE;
        } catch (AgentClient.Unreachable e) {
            err.println("sealift " + command + ": " + e.getMessage());
            return UNREACHABLE;
        } catch (AgentClient.ApiError e) {
            err.println("sealift " + command + ": refused (" + e.status() + " " + e.code() + "): " + e.getMessage());
            return UNREACHABLE;
        }
    }

    private Args args(String command, List<String> raw, Set<String> values, Set<String> booleans)
            throws UsageException {
        Set<String> v = new HashSet<>(values);
        v.addAll(Targets.VALUE_FLAGS);
        Set<String> b = new HashSet<>(booleans);
        b.addAll(Targets.BOOLEAN_FLAGS);
        b.add("--json");
        return new Args("sealift " + command, raw, v, b);
    }

    // ---- migrate ------------------------------------------------------------------------------------------------

    static void migrateUsage(PrintStream out) {
        out.println("usage: sealift migrate --vm NAME --to HOST [--from HOST] [--mode secure|plain] [--max-rounds N]");
        out.println("                       [--downtime-ms N] [--bandwidth MiB/s] [--inject ATTACK] [--json]");
        out.println("                       [--lab | --config FILE | --agent URL --cert FILE --key FILE --ca FILE]");
        out.println("exit codes: 0 COMMITTED, 2 usage, 3 agent unreachable or refused, 4 ABORTED, 5 REJECTED");
    }

    private int migrate(List<String> raw) throws UsageException, CaCommand.Failure, AgentClient.Unreachable,
            AgentClient.ApiError {
        if (raw.contains("--help")) {
            migrateUsage(out);
            return OK;
        }
        Args a = args("migrate", raw, Set.of("--vm", "--to", "--from", "--mode", "--max-rounds", "--downtime-ms",
                "--bandwidth", "--inject"), Set.of());
        a.expectPositionals(0, "");
        String vm = a.required("--vm", "the VM to migrate");
        String to = a.required("--to", "the destination host id");
        String mode = a.value("--mode").orElse("secure");
        if (!mode.equals("secure") && !mode.equals("plain")) {
            throw new UsageException("sealift migrate: --mode must be secure or plain, not '" + mode + "'");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("vm", vm);
        body.put("to", to);
        body.put("mode", mode);
        if (a.has("--max-rounds")) {
            body.put("maxRounds", (int) a.number("--max-rounds", 30, 1, 1000));
        }
        if (a.has("--downtime-ms")) {
            body.put("downtimeMs", (int) a.number("--downtime-ms", 300, 1, 600_000));
        }
        if (a.has("--bandwidth")) {
            body.put("bandwidthMiBps", (int) a.number("--bandwidth", 0, 0, 1_000_000));
        }
        a.value("--inject").ifPresent(i -> body.put("inject", i));
        boolean json = a.has("--json");
        Targets t = Targets.resolve(a, "sealift migrate", clock, env);
        AgentClient source = a.has("--from") ? t.host(a.value("--from").get(), "sealift migrate") : findVm(t, vm);

        JsonNode started;
        JsonNode outcome = null;
        try (AgentClient.EventStream events = source.events("round,phase,anomaly,outcome")) {
            started = source.post("/v1/migrations", body);
            String id = started.path("id").asText();
            if (!json) {
                out.println("migration " + id + " of " + vm + ": " + started.path("source").asText() + " -> " + to
                        + " (" + mode + (a.has("--inject") ? ", injecting " + a.value("--inject").get() : "") + ")");
            }
            while (true) {
                Optional<AgentClient.Event> e;
                try {
                    e = events.next(ev -> id.equals(ev.data().path("migrationId").asText())
                            || id.equals(ev.data().path("id").asText()));
                } catch (IOException ex) {
                    e = Optional.empty();
                }
                if (e.isEmpty()) {
                    break;
                }
                AgentClient.Event ev = e.get();
                if (json) {
                    out.println(Json.writeString(Map.of("event", ev.type(), "data", ev.data())));
                } else {
                    printEvent(ev);
                }
                if (ev.type().equals("outcome")) {
                    outcome = ev.data();
                    break;
                }
            }
            if (outcome == null) {
                outcome = poll(source, id);
            }
        }
        return summary(outcome, json);
    }

    /** The event stream ended early (agent restarted, proxy): ask for the status until the migration ends. */
    private JsonNode poll(AgentClient source, String id) throws AgentClient.Unreachable, AgentClient.ApiError {
        while (true) {
            JsonNode v = source.get("/v1/migrations/" + id);
            String state = v.path("state").asText();
            if (!state.equals("running") && !state.equals("finishing")) {
                return v;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return v;
            }
        }
    }

    private AgentClient findVm(Targets t, String vm) throws UsageException, AgentClient.Unreachable {
        if (t.agents.size() == 1) {
            return t.agents.values().iterator().next();
        }
        List<String> unreachable = new ArrayList<>();
        for (Map.Entry<String, AgentClient> e : t.agents.entrySet()) {
            try {
                for (JsonNode v : e.getValue().get("/v1/vms")) {
                    String state = v.path("state").asText();
                    if (v.path("name").asText().equals(vm) && (state.equals("RUNNING") || state.equals("PAUSED"))) {
                        return e.getValue();
                    }
                }
            } catch (AgentClient.Unreachable | AgentClient.ApiError ex) {
                unreachable.add(e.getKey());
            }
        }
        throw new AgentClient.Unreachable("no agent has VM " + vm + " running" + (unreachable.isEmpty() ? ""
                : " (hosts " + unreachable + " did not answer)") + "; 'sealift vms' lists the VMs, or give --from HOST",
                null);
    }

    private void printEvent(AgentClient.Event ev) {
        JsonNode d = ev.data();
        switch (ev.type()) {
            case "phase" -> out.println("phase " + d.path("phase").asText());
            case "round" -> {
                JsonNode r = d.path("round");
                out.println(String.format(Locale.ROOT, "round %d%s: %d pages (normal %d, protected %d sealed, zero %d),"
                        + " %.1f MiB, %.1f ms, %.0f MiB/s, dirty left %d", r.path("round").asInt(),
                        r.path("stopAndCopy").asBoolean() ? " (stop-and-copy)" : "",
                        r.path("pagesNormal").asLong() + r.path("pagesProtected").asLong() + r.path("pagesZero")
                                .asLong(), r.path("pagesNormal").asLong(), r.path("pagesProtected").asLong(),
                        r.path("pagesZero").asLong(), r.path("bytes").asLong() / 1048576.0,
                        r.path("durationMs").asDouble(), r.path("throughputMiBps").asDouble(),
                        r.path("dirtyPagesLeft").asLong()));
            }
            case "anomaly" -> out.println("anomaly: " + d.path("detail").asText());
            default -> {
                // the outcome is printed as the summary
            }
        }
    }

    /** Names of the downtime steps as people read them (the API's keys are the JSON names). */
    private static final java.util.Map<String, String> STEP_NAMES = java.util.Map.of(
            MigrationResult.STEP_LAST_ROUND, "last round", MigrationResult.STEP_MANIFEST, "MANIFEST",
            MigrationResult.STEP_DESTINATION_CHECK, "destination check", MigrationResult.STEP_RELEASE, "RELEASE",
            MigrationResult.STEP_RESUME, "resume at the destination");

    /** "last round 3.1 ms, MANIFEST 4.0 ms, ..." from the totals' downtimeStepsMs, or "" when there are none. */
    static String downtimeSteps(JsonNode steps) {
        List<String> parts = new ArrayList<>();
        steps.properties().forEach(e -> parts.add(String.format(Locale.ROOT, "%s %.1f ms",
                STEP_NAMES.getOrDefault(e.getKey(), e.getKey()), e.getValue().asDouble())));
        return String.join(", ", parts);
    }

    private int summary(JsonNode v, boolean json) {
        if (json) {
            out.println(Json.writeString(v));
        } else {
            String outcome = v.path("outcome").asText("UNKNOWN");
            out.println("outcome " + outcome + (v.path("inDoubt").asBoolean() ? " (IN DOUBT)" : "") + ": "
                    + v.path("reason").asText());
            JsonNode t = v.path("totals");
            out.println(String.format(Locale.ROOT, "rounds %d, downtime %.1f ms, total %.1f ms, %.1f MiB sent"
                    + " (%d normal, %d protected sealed, %d zero pages)", t.path("rounds").asInt(),
                    t.path("downtimeMs").asDouble(), t.path("totalMs").asDouble(),
                    t.path("bytes").asLong() / 1048576.0, t.path("pagesNormal").asLong(),
                    t.path("pagesProtected").asLong(), t.path("pagesZero").asLong()));
            String steps = downtimeSteps(t.path("downtimeStepsMs"));
            if (!steps.isEmpty()) {
                out.println("downtime: " + steps);
            }
            JsonNode at = v.path("attestation");
            if (at.isObject()) {
                // hypervisors take no part in a plain migration: its record can only be a dom0-held signer's
                boolean dom0 = v.path("mode").asText().equals("plain");
                out.println("attestation " + at.path("host").asText() + "#" + at.path("index").asLong() + " ("
                        + at.path("outcome").asText() + (at.path("reason").asText().isEmpty() ? ""
                                : ", " + at.path("reason").asText()) + "; signed by "
                        + (at.path("signedByBoth").asBoolean() ? dom0 ? "both agents' dom0-held keys"
                                : "both hypervisors" : dom0 ? "one agent's dom0-held key" : "one hypervisor") + ")");
                if (dom0) {
                    out.println("  " + org.sealift.protocol.pki.Dom0Signer.TRUST_LEVEL);
                }
            } else {
                out.println("attestation: none");
            }
            if (!v.path("attestationNote").asText().isEmpty()) {
                out.println("  " + v.path("attestationNote").asText());
            }
            JsonNode peer = v.path("peer");
            if (peer.isObject() && !peer.path("outcome").asText().isEmpty()) {
                out.println("peer " + (v.path("role").asText().equals("source") ? v.path("destination").asText()
                        : v.path("source").asText()) + " reports " + peer.path("outcome").asText() + ": "
                        + peer.path("reason").asText());
            }
            for (JsonNode an : v.path("anomalies")) {
                out.println("anomaly: " + an.asText());
            }
        }
        return exitCode(v);
    }

    /** 0 committed, 5 rejected or stopped by an attack or policy check, 4 otherwise (aborted, in doubt). */
    public static int exitCode(JsonNode v) {
        String outcome = v.path("outcome").asText();
        if (outcome.equals("COMMITTED") && !v.path("inDoubt").asBoolean()) {
            return OK;
        }
        if (outcome.equals("REJECTED")) {
            return REJECTED;
        }
        // the hypervisor-signed reason first, then this agent's, then what the peer agent reported
        for (String r : List.of(v.path("attestation").path("reason").asText(""), v.path("reason").asText(""),
                v.path("peer").path("reason").asText(""))) {
            int colon = r.indexOf(':');
            if (SECURITY_REASONS.contains(colon > 0 ? r.substring(0, colon) : r)) {
                return REJECTED;
            }
        }
        return ABORTED;
    }

    // ---- quick looks --------------------------------------------------------------------------------------------

    private Map<String, JsonNode> each(Targets t, String path, List<String> problems) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Map.Entry<String, AgentClient> e : t.agents.entrySet()) {
            try {
                out.put(e.getKey(), e.getValue().get(path));
            } catch (AgentClient.Unreachable | AgentClient.ApiError ex) {
                problems.add((e.getKey().isEmpty() ? e.getValue().name() : e.getKey()) + ": " + ex.getMessage());
            }
        }
        return out;
    }

    private int vms(List<String> raw) throws UsageException, CaCommand.Failure {
        Args a = args("vms", raw, Set.of(), Set.of());
        a.expectPositionals(0, "");
        Targets t = Targets.resolve(a, "sealift vms", clock, env);
        List<String> problems = new ArrayList<>();
        Map<String, JsonNode> all = each(t, "/v1/vms", problems);
        if (a.has("--json")) {
            out.println(Json.writeString(all));
        } else {
            out.println(String.format(Locale.ROOT, "%-6s %-14s %-13s %7s  %-22s %s", "HOST", "VM", "STATE", "MEMORY",
                    "PROTECTED", "MIGRATION"));
            all.forEach((host, list) -> list.forEach(v -> {
                List<String> procs = new ArrayList<>();
                v.path("protectedProcesses").forEach(p -> procs.add(p.path("name").asText() + " ("
                        + p.path("pages").asLong() + " pages)"));
                out.println(String.format(Locale.ROOT, "%-6s %-14s %-13s %4d MiB  %-22s %s", host.isEmpty() ? "-"
                        : host, v.path("name").asText(), v.path("state").asText(), v.path("memoryMiB").asInt(),
                        procs.isEmpty() ? "-" : String.join(", ", procs), v.path("migration").asText("-")));
            }));
        }
        return report(problems);
    }

    private int hosts(List<String> raw) throws UsageException, CaCommand.Failure {
        Args a = args("hosts", raw, Set.of(), Set.of());
        a.expectPositionals(0, "");
        Targets t = Targets.resolve(a, "sealift hosts", clock, env);
        List<String> problems = new ArrayList<>();
        Map<String, JsonNode> all = each(t, "/v1/host", problems);
        if (a.has("--json")) {
            out.println(Json.writeString(all));
        } else {
            out.println(String.format(Locale.ROOT, "%-6s %-8s %-9s %-18s %4s  %s", "HOST", "ATTESTED", "HEALTH",
                    "MEASUREMENT", "VMS", "FREE MEMORY"));
            for (JsonNode h : all.values()) {
                JsonNode c = h.path("capacity");
                String m = h.path("measurement").asText("");
                out.println(String.format(Locale.ROOT, "%-6s %-8s %-9s %-18s %4d  %d of %d MiB", h.path("hostId")
                        .asText(), h.path("attested").asBoolean() ? "yes" : "NO", h.path("health").path("status")
                        .asText(), m.length() > 16 ? m.substring(0, 16) + ".." : m, c.path("vms").asInt(),
                        c.path("freeMemoryMiB").asLong(), c.path("memoryMiB").asLong()));
                for (JsonNode p : h.path("health").path("problems")) {
                    out.println("       ! " + p.asText());
                }
            }
        }
        return report(problems);
    }

    private int inDoubt(List<String> raw) throws UsageException, CaCommand.Failure {
        Args a = args("in-doubt", raw, Set.of(), Set.of());
        a.expectPositionals(0, "");
        Targets t = Targets.resolve(a, "sealift in-doubt", clock, env);
        List<String> problems = new ArrayList<>();
        Map<String, JsonNode> all = each(t, "/v1/in-doubt", problems);
        if (a.has("--json")) {
            out.println(Json.writeString(all));
        } else {
            int n = 0;
            for (Map.Entry<String, JsonNode> e : all.entrySet()) {
                for (JsonNode d : e.getValue()) {
                    n++;
                    out.println(e.getKey() + ": migration " + d.path("id").asText() + " of " + d.path("vm").asText()
                            + " (" + d.path("role").asText() + ", peer " + d.path("peer").asText("?") + "): "
                            + d.path("state").asText() + (d.path("inDoubt").asBoolean() ? ", IN DOUBT" : "")
                            + (d.path("manifestDigest").isTextual() ? ", manifest digest "
                                    + d.path("manifestDigest").asText() : ""));
                    out.println("    " + d.path("detail").asText());
                }
            }
            if (n == 0) {
                out.println("no migration in doubt");
            }
        }
        return report(problems);
    }

    private int report(List<String> problems) {
        for (String p : problems) {
            err.println("unreachable: " + p);
        }
        return problems.isEmpty() ? OK : UNREACHABLE;
    }

    // ---- verify -------------------------------------------------------------------------------------------------

    static void verifyUsage(PrintStream out) {
        out.println("usage: sealift verify FILE [--ca cluster-trust.pem] [--policy FILE] [--ak FILE]...");
        out.println("       sealift verify --agent HOST|URL [--ca FILE] [--policy FILE] [client options]");
        out.println("       sealift verify --lab             every lab agent's log, and each pair cross-checked");
    }

    private int verify(List<String> raw) throws UsageException, CaCommand.Failure, AgentClient.Unreachable,
            AgentClient.ApiError {
        if (raw.contains("--help")) {
            verifyUsage(out);
            return OK;
        }
        Args a = args("verify", raw, Set.of("--policy", "--ak"), Set.of());
        Optional<LabInfo> lab = Optional.empty();
        if (a.has("--lab")) {
            lab = Optional.of(Targets.resolve(a, "sealift verify", clock, env).lab.orElseThrow());
        }
        ClusterTrust trust = trust(a, lab);
        if (!a.positionals().isEmpty()) {
            a.expectPositionals(1, "the record or log file");
            return verifyFile(Path.of(a.positionals().get(0)), trust, policy(a, lab, null), aks(a, lab));
        }
        String agent = a.value("--agent").orElse(null);
        Targets t = Targets.resolve(a, "sealift verify", clock, env);
        List<AgentClient> targets = new ArrayList<>();
        if (agent == null) {
            if (!a.has("--lab")) {
                throw new UsageException("sealift verify: give a FILE, --agent HOST or --lab");
            }
            targets.addAll(t.agents.values());
        } else {
            targets.add(agent.startsWith("https://") ? t.agents.get("") : t.host(agent, "sealift verify"));
        }
        boolean ok = true;
        Map<String, AttestationLog> logs = new LinkedHashMap<>();
        List<X509Certificate> allAks = new ArrayList<>(aks(a, lab));
        SignedPolicy policy = null;
        for (AgentClient c : targets) {
            // first: what the verifier needs (AK certificates, policy); then the log against a fresh nonce
            JsonNode meta = c.post("/v1/attestations/verify", Map.of());
            List<X509Certificate> certs = new ArrayList<>(allAks);
            meta.path("akCertificates").forEach(pem -> {
                try {
                    certs.addAll(Certificates.fromPem(pem.asText()));
                } catch (IOException e) {
                    // a certificate the agent serves that does not parse is simply not used
                }
            });
            allAks = certs;
            policy = policy(a, lab, meta.path("policy").asText(null));
            LogVerifier verifier;
            try {
                verifier = new LogVerifier(trust, policy, certs);
            } catch (ProtocolException e) {
                throw new CaCommand.Failure("sealift verify: the policy does not verify with the cluster trust: "
                        + e.getMessage());
            }
            Challenge challenge = verifier.challenge();
            JsonNode answer = c.post("/v1/attestations/verify", Map.of("nonce", Hex.encode(challenge.nonce())));
            AttestationLog log;
            SignedHead head;
            try {
                log = AttestationLog.parse(Base64.getDecoder().decode(answer.path("log").asText()));
                head = SignedHead.parse(Base64.getDecoder().decode(answer.path("head").asText()));
            } catch (ProtocolException | IllegalArgumentException e) {
                out.println(c.name() + ": the agent's answer does not parse: " + e.getMessage());
                ok = false;
                continue;
            }
            VerificationResult r = verifier.verify(log, head, challenge, null, clock.instant());
            ok &= print(r);
            logs.put(log.hostId(), log);
        }
        if (logs.size() > 1 && policy != null) {
            try {
                LogVerifier cross = new LogVerifier(trust, policy, allAks);
                List<String> hosts = new ArrayList<>(logs.keySet());
                for (int i = 0; i < hosts.size(); i++) {
                    for (int j = i + 1; j < hosts.size(); j++) {
                        ok &= print(cross.crossCheck(logs.get(hosts.get(i)), logs.get(hosts.get(j))));
                    }
                }
            } catch (ProtocolException e) {
                throw new CaCommand.Failure("sealift verify: " + e.getMessage());
            }
        }
        return ok ? OK : FAILED;
    }

    private int verifyFile(Path file, ClusterTrust trust, SignedPolicy policy, List<X509Certificate> aks)
            throws CaCommand.Failure {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CaCommand.Failure("sealift verify: cannot read " + file + ": " + e.getMessage());
        }
        List<X509Certificate> certs = new ArrayList<>(aks);
        Path akDir = file.toAbsolutePath().getParent().resolve("ak-certificates");
        if (Files.isDirectory(akDir)) {
            try (var s = Files.list(akDir)) {
                for (Path p : s.toList()) {
                    certs.addAll(Certificates.read(p));
                }
            } catch (IOException e) {
                // the verifier names certificates it misses
            }
        }
        AttestationLog log;
        String text = new String(bytes, 0, Math.min(bytes.length, 64), StandardCharsets.US_ASCII);
        try {
            if (text.startsWith("-----BEGIN")) {
                SignedRecord r = SignedRecord.fromPem(new String(bytes, StandardCharsets.US_ASCII));
                log = AttestationLog.create(r.record().source().hostId());
                log.append(r);
            } else {
                log = AttestationLog.parse(bytes);
            }
        } catch (ProtocolException e) {
            out.println(file + ": not an attestation record or log: " + e.getMessage());
            return FAILED;
        }
        try {
            LogVerifier v = new LogVerifier(trust, policy, certs);
            Challenge c = v.challenge();
            VerificationResult r = v.verify(log, null, c, null, clock.instant());
            // offline there is no hypervisor to sign the head: that one check cannot be made, everything else is
            List<String> failures = new ArrayList<>(r.failures());
            failures.removeIf(f -> f.startsWith("no signed head was presented"));
            out.println(file + " (" + log.size() + (log.size() == 1 ? " record" : " entries") + "): "
                    + (failures.isEmpty() ? "OK" : "FAILED"));
            for (String f : failures) {
                out.println("  - " + f);
            }
            for (String n : r.notes()) {
                out.println("  note: " + n);
            }
            out.println("  note: offline: the end of the log is not compared with the hypervisor's signed head;"
                    + " 'sealift verify --agent HOST' does that");
            return failures.isEmpty() ? OK : FAILED;
        } catch (ProtocolException e) {
            throw new CaCommand.Failure("sealift verify: the policy does not verify with the cluster trust: "
                    + e.getMessage());
        }
    }

    /** Prints the verifier's own report: "subject: OK" or "FAILED (n)", then each failure and note. */
    private boolean print(VerificationResult r) {
        out.println(r.toString());
        return r.ok();
    }

    private ClusterTrust trust(Args a, Optional<LabInfo> lab) throws UsageException, CaCommand.Failure {
        Path f = a.value("--ca").map(Path::of).orElse(lab.map(l -> Path.of(l.trust())).orElse(null));
        if (f == null) {
            throw new UsageException("sealift verify: --ca FILE is needed (the cluster-trust.pem: CA and policy"
                    + " signer), or --lab");
        }
        try {
            return ClusterTrust.load(f);
        } catch (IOException | ProtocolException e) {
            throw new CaCommand.Failure("sealift verify: " + f + " is not a cluster trust file (cluster-trust.pem): "
                    + e.getMessage());
        }
    }

    private SignedPolicy policy(Args a, Optional<LabInfo> lab, String fromAgent) throws UsageException,
            CaCommand.Failure {
        Optional<Path> f = a.value("--policy").map(Path::of).or(() -> lab.map(l -> Path.of(l.policy())));
        try {
            if (f.isPresent()) {
                return SignedPolicy.load(f.get());
            }
            if (fromAgent != null) {
                err.println("note: using the policy the agent serves (its signature is checked; give --policy FILE"
                        + " to judge with the CA's current one)");
                return SignedPolicy.fromPem(fromAgent);
            }
        } catch (IOException | ProtocolException e) {
            throw new CaCommand.Failure("sealift verify: cannot read the policy: " + e.getMessage());
        }
        throw new UsageException("sealift verify: --policy FILE is needed (a signed policy, e.g. the CA's"
                + " policy.pem), or --lab");
    }

    private List<X509Certificate> aks(Args a, Optional<LabInfo> lab) throws CaCommand.Failure {
        List<X509Certificate> out = new ArrayList<>();
        List<String> files = new ArrayList<>(a.values("--ak"));
        lab.ifPresent(l -> l.agents().forEach(ag -> files.add(ag.akCertificate())));
        for (String f : files) {
            try {
                out.addAll(Certificates.read(Path.of(f)));
            } catch (IOException e) {
                throw new CaCommand.Failure("sealift verify: cannot read AK certificate " + f + ": " + e.getMessage());
            }
        }
        return out;
    }
}
