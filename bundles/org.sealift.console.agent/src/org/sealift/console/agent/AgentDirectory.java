package org.sealift.console.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.net.ssl.SSLContext;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.core.settings.ConsoleTls;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.settings.SettingsException;
import org.sealift.console.core.settings.SettingsService;

/**
 * The agents the console talks to and a client for each: the agents and the operator's credentials come from the
 * settings ({@link SettingsService#effective()}: Preferences, or a running lab's when none are configured). Clients
 * are made again when the settings or the credential files change. Thread-safe.
 */
@Component(service = AgentDirectory.class)
public final class AgentDirectory {

    private SettingsService settings;
    private final Clock clock;
    private State state;

    /** What the clients were made from, and the clients (or why none could be made). */
    private record State(ConsoleSettings settings, List<FileTime> stamps, Map<String, AgentApi> clients,
            SettingsException problem) {
    }

    /** For DS. */
    public AgentDirectory() {
        this.clock = Clock.systemUTC();
    }

    /** For tests and hand wiring. */
    public AgentDirectory(SettingsService settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
    }

    @Reference
    void bindSettings(SettingsService s) {
        settings = s;
    }

    @Deactivate
    synchronized void deactivate() {
        if (state != null) {
            state.clients.values().forEach(AgentApi::close);
            state = null;
        }
    }

    /** The agents to show, in the order of the settings (or of the lab). */
    public List<AgentRef> agents() {
        return settings.effective().agents();
    }

    /** The lab whose agents are used, if the agents come from a lab. */
    public Optional<LabConnection> lab() {
        return settings.lab();
    }

    /** The client of the agent named {@code hostId} in the settings. */
    public AgentApi api(String hostId) throws AgentException {
        State s = state();
        AgentApi a = s.clients.get(hostId);
        if (a != null) {
            return a;
        }
        if (s.problem != null) {
            throw new AgentException("cannot connect to agent " + hostId + ": " + s.problem.getMessage(), s.problem);
        }
        throw new AgentException("host " + hostId + " is not among the agents the console connects to ("
                + String.join(", ", s.clients.keySet()) + "): add it in Preferences > Agents");
    }

    /** The client for {@code agent} (by name). */
    public AgentApi api(AgentRef agent) throws AgentException {
        return api(agent.name());
    }

    /** Every agent's client (none when the credentials cannot be used: {@link #problem()} says why). */
    public List<AgentApi> apis() {
        return new ArrayList<>(state().clients.values());
    }

    /** Why no client can be made (credentials missing or unusable), if so. */
    public Optional<SettingsException> problem() {
        return Optional.ofNullable(state().problem);
    }

    private synchronized State state() {
        ConsoleSettings s = settings.effective();
        List<FileTime> stamps = stamps(s);
        if (state != null && state.settings.equals(s) && state.stamps.equals(stamps)) {
            return state;
        }
        if (state != null) {
            state.clients.values().forEach(AgentApi::close);
        }
        Map<String, AgentApi> clients = new LinkedHashMap<>();
        SettingsException problem = null;
        String fix = settings.lab().map(l -> "is the lab running? start it with './sealift lab' (lab folder "
                + l.dir() + ")").orElse("check Preferences > Agents");
        try {
            ConsoleTls.Operator op = ConsoleTls.loadOperator(s.operatorCertificate(), s.operatorKey(),
                    s.trustAnchor(), clock.instant());
            for (AgentRef a : s.agents()) {
                SSLContext ctx = ConsoleTls.context(op, a.name(), clock::instant);
                clients.putIfAbsent(a.name(), new AgentApi(a, ctx, fix));
            }
        } catch (SettingsException e) {
            problem = e;
        }
        state = new State(s, stamps, clients, problem);
        return state;
    }

    private static List<FileTime> stamps(ConsoleSettings s) {
        List<FileTime> out = new ArrayList<>();
        for (Path p : new Path[] {s.operatorCertificate(), s.operatorKey(), s.trustAnchor()}) {
            try {
                out.add(p == null ? null : Files.getLastModifiedTime(p));
            } catch (IOException e) {
                out.add(null);
            }
        }
        return out;
    }
}
