package org.sealift.agent.cli;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sealift.agent.lab.LabInfo;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;

/**
 * Which agents a client command talks to and with which operator certificate, from (in this order): {@code --agent
 * URL --cert --key --ca}, {@code --lab} (the running lab's lab.json), {@code --config FILE}, or the client
 * configuration in $SEALIFT_CLIENT_CONFIG or ~/.config/sealift/client.conf. A client configuration file is
 * {@code key = value} lines: {@code cert}, {@code key}, {@code ca} and one {@code agent.HOST = https://ADDRESS:PORT}
 * per agent.
 */
final class Targets {

    /** Flags every client command accepts. */
    static final Set<String> VALUE_FLAGS = Set.of("--agent", "--cert", "--key", "--ca", "--config", "--lab-dir");
    static final Set<String> BOOLEAN_FLAGS = Set.of("--lab");

    final TlsCredentials operator;
    /** By host id; a single {@code --agent URL} without host id is under the key "" (any agent of the cluster). */
    final Map<String, AgentClient> agents;
    final Optional<LabInfo> lab;

    private Targets(TlsCredentials operator, Map<String, AgentClient> agents, Optional<LabInfo> lab) {
        this.operator = operator;
        this.agents = agents;
        this.lab = lab;
    }

    static Targets resolve(Args a, String command, Clock clock, Map<String, String> env) throws UsageException,
            CaCommand.Failure {
        try {
            if (a.has("--agent") && a.value("--agent").orElse("").startsWith("https://")) {
                String url = a.value("--agent").get();
                TlsCredentials op;
                if (a.has("--cert") || !a.has("--lab")) {
                    op = load(Path.of(a.required("--cert", "the operator certificate")), Path.of(a.required("--key",
                            "its private key")), Path.of(a.required("--ca", "the cluster CA certificate")), clock);
                } else {
                    op = labOperator(lab(a, env), clock);
                }
                Map<String, AgentClient> m = new LinkedHashMap<>();
                m.put("", new AgentClient(null, URI.create(url), op, clock));
                return new Targets(op, m, Optional.empty());
            }
            if (a.has("--lab")) {
                LabInfo info = lab(a, env);
                TlsCredentials op = labOperator(info, clock);
                Map<String, AgentClient> m = new LinkedHashMap<>();
                for (LabInfo.Agent ag : info.agents()) {
                    m.put(ag.host(), new AgentClient(ag.host(), URI.create(ag.api()), op, clock));
                }
                return new Targets(op, m, Optional.of(info));
            }
            Path file = a.value("--config").map(Path::of).orElse(null);
            if (file == null) {
                String e = env.get("SEALIFT_CLIENT_CONFIG");
                Path home = Path.of(System.getProperty("user.home"), ".config", "sealift", "client.conf");
                file = e != null && !e.isBlank() ? Path.of(e) : Files.exists(home) ? home : null;
            }
            if (file == null) {
                throw new UsageException(command + ": which agent? give --agent URL --cert FILE --key FILE --ca FILE,"
                        + " --config FILE (client configuration), or --lab for the running lab");
            }
            return fromConfig(file, a, command, clock);
        } catch (TlsSetupException e) {
            throw new CaCommand.Failure(command + ": cannot use the operator certificate: " + e.getMessage());
        }
    }

    private static LabInfo lab(Args a, Map<String, String> env) throws CaCommand.Failure, UsageException {
        Path dir = a.value("--lab-dir").map(p -> Path.of(p).toAbsolutePath().normalize()).orElseGet(() -> {
            String e = env.get("SEALIFT_LAB_DIR");
            return e != null && !e.isBlank() ? Path.of(e).toAbsolutePath().normalize() : LabInfo.defaultDir();
        });
        return LabInfo.read(dir).orElseThrow(() -> new CaCommand.Failure("no lab runs in " + dir + " (no "
                + LabInfo.FILE + "); start one with './sealift lab --no-console' or give --lab-dir"));
    }

    private static TlsCredentials labOperator(LabInfo info, Clock clock) throws TlsSetupException {
        return load(Path.of(info.operator().cert()), Path.of(info.operator().key()), Path.of(info.operator().ca()),
                clock);
    }

    private static TlsCredentials load(Path cert, Path key, Path ca, Clock clock) throws TlsSetupException {
        return TlsCredentials.load(cert, key, ca, clock);
    }

    private static Targets fromConfig(Path file, Args a, String command, Clock clock) throws UsageException,
            TlsSetupException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException(command + ": cannot read the client configuration " + file + ": "
                    + e.getMessage());
        }
        Map<String, String> kv = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        Path base = file.toAbsolutePath().getParent();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int eq = l.indexOf('=');
            String k = eq > 0 ? l.substring(0, eq).strip() : "";
            if (eq <= 0 || !(k.equals("cert") || k.equals("key") || k.equals("ca") || k.startsWith("agent."))) {
                problems.add(file + ":" + (i + 1) + ": '" + l + "' is not cert, key, ca or agent.HOST = URL");
                continue;
            }
            kv.put(k, l.substring(eq + 1).strip());
        }
        for (String k : List.of("cert", "key", "ca")) {
            if (!kv.containsKey(k)) {
                problems.add(file + ": '" + k + " = FILE' is missing");
            }
        }
        if (!problems.isEmpty()) {
            throw new UsageException(command + ": " + String.join("; ", problems));
        }
        TlsCredentials op = load(base.resolve(kv.get("cert")), base.resolve(kv.get("key")), base.resolve(kv.get("ca")),
                clock);
        Map<String, AgentClient> m = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : kv.entrySet()) {
            if (e.getKey().startsWith("agent.")) {
                String host = e.getKey().substring(6);
                m.put(host, new AgentClient(host, URI.create(e.getValue()), op, clock));
            }
        }
        if (m.isEmpty()) {
            throw new UsageException(command + ": " + file + " names no agent; add 'agent.h1 = https://ADDRESS:7443'");
        }
        return new Targets(op, m, Optional.empty());
    }

    /** The client of host {@code host}; usage error naming the known hosts if there is none. */
    AgentClient host(String host, String command) throws UsageException {
        AgentClient c = agents.get(host);
        if (c == null) {
            if (agents.size() == 1 && agents.containsKey("")) {
                return agents.get("");
            }
            throw new UsageException(command + ": no agent for host " + host + " is configured; known: "
                    + agents.keySet());
        }
        return c;
    }
}
