package org.sealift.console.core.lab;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The lab as the console last saw it: the folder {@code sealift lab} uses, whether a lab runs there (its
 * {@code lab.json} and whether the process that owns it is alive), its agents and the operator credentials it made.
 * Immutable.
 *
 * @param folder           the lab folder ($SEALIFT_LAB_DIR, else ./.sealift/lab)
 * @param state            no lab, a stale one, starting, running or failed to start
 * @param labPid           the process that owns the lab (0 if none)
 * @param startedByConsole true if this console started it (and stops it when the console exits)
 * @param attached         true once the console's settings point at this lab's agents and credentials
 * @param agents           one per lab host
 * @param operatorCert     the lab operator's client certificate (PEM)
 * @param operatorKey      its private key
 * @param clusterCa        the lab CA certificate
 * @param trust            cluster-trust.pem (CA + policy signer)
 * @param policy           the lab's signed policy
 * @param message          what the console last did or found, for the status line
 */
public record LabStatus(Path folder, State state, long labPid, boolean startedByConsole, boolean attached,
        List<Agent> agents, Path operatorCert, Path operatorKey, Path clusterCa, Path trust, Path policy,
        String message) {

    /** Where the lab stands. */
    public enum State {
        /** No lab.json in the folder: no lab was started there (or it was stopped cleanly). */
        NONE,
        /** lab.json is there but the process that owns it is gone (a lab that crashed or was killed). */
        STALE,
        /** This console is starting a lab. */
        STARTING,
        /** The lab's owner process is alive. */
        RUNNING,
        /** Starting failed; the message says why. */
        FAILED
    }

    /**
     * One lab host.
     *
     * @param host  host id (h1, h2, h3, and the rogue h4)
     * @param api   its agent's management API
     * @param pid   its agent's process
     * @param alive whether that process is alive
     * @param rogue true for the host whose hypervisor build is not in the lab policy
     * @param hypervisorAlive whether the host's hypervisor process is alive (false after a host crash)
     */
    public record Agent(String host, URI api, long pid, boolean alive, boolean rogue, boolean hypervisorAlive) {
        public Agent {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(api, "api");
        }

        /** "running", "crashed (agent and hypervisor down)", "agent down (its hypervisor runs)". */
        public String describe() {
            if (alive && hypervisorAlive) {
                return "running";
            }
            if (!alive && !hypervisorAlive) {
                return "crashed: agent and hypervisor down";
            }
            return alive ? "hypervisor down" : "agent down (its hypervisor runs)";
        }
    }

    public LabStatus {
        Objects.requireNonNull(folder, "folder");
        Objects.requireNonNull(state, "state");
        agents = List.copyOf(agents);
        message = message == null ? "" : message;
    }

    /** Nothing known yet about {@code folder}. */
    public static LabStatus none(Path folder, String message) {
        return new LabStatus(folder, State.NONE, 0, false, false, List.of(), null, null, null, null, null, message);
    }

    public boolean running() {
        return state == State.RUNNING;
    }

    public Optional<Agent> agent(String host) {
        return agents.stream().filter(a -> a.host().equals(host)).findFirst();
    }

    public LabStatus withMessage(String m) {
        return new LabStatus(folder, state, labPid, startedByConsole, attached, agents, operatorCert, operatorKey,
                clusterCa, trust, policy, m);
    }

    public LabStatus withState(State s, String m) {
        return new LabStatus(folder, s, labPid, startedByConsole, attached, agents, operatorCert, operatorKey,
                clusterCa, trust, policy, m);
    }

    public LabStatus withAttached(boolean a) {
        return new LabStatus(folder, state, labPid, startedByConsole, a, agents, operatorCert, operatorKey,
                clusterCa, trust, policy, message);
    }

    /** "running (process 4711), 4 agents" etc. */
    public String describe() {
        return switch (state) {
            case NONE -> "no lab runs in " + folder;
            case STALE -> "a lab was started in " + folder + " but its process " + labPid + " is gone";
            case STARTING -> "starting a lab in " + folder;
            case RUNNING -> "lab running (process " + labPid + (startedByConsole ? ", started by this console" : "")
                    + "), " + agents.size() + " agents" + (attached ? ", console attached" : "");
            case FAILED -> "the lab did not start";
        };
    }
}
