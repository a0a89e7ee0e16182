package org.sealift.console.core.lab;

import java.util.List;
import java.util.Objects;

/**
 * A guided exercise: a short list of steps a trainee performs with buttons, each through the console's services.
 *
 * @param id    stable name
 * @param title what the trainee will see happen
 * @param goal  one or two sentences: what the exercise shows
 * @param steps in order
 */
public record LabScenario(String id, String title, String goal, List<Step> steps) {

    /** What a step does when its button is pressed. */
    public enum Action {
        /** Reset the lab to its demo VMs. */
        RESET,
        /** Start the migration described by the step (with its attack, if any). */
        MIGRATE,
        /** Ask the source agent to cancel the scenario's migration (ABORT before RELEASE, refused after). */
        CANCEL,
        /** Crash the step's host through the lab control API: SIGKILL to its agent and its hypervisor. */
        CRASH_HOST,
        /** Start the step's crashed host again: its hypervisor from its sealed state, then its agent. */
        RESTART_HOST,
        /** Nothing to press: read what the console shows. */
        OBSERVE
    }

    /**
     * One step.
     *
     * @param text          what to do and what to look for
     * @param action        what the step's button does
     * @param vm            for MIGRATE: the VM's name
     * @param from          for MIGRATE: the source host
     * @param to            for MIGRATE: the destination host
     * @param attack        for MIGRATE: the attack to inject ("" for none)
     * @param bandwidthMiBps for MIGRATE: a stream cap that makes the migration slow enough to watch (0 for none)
     * @param host          for CRASH_HOST and RESTART_HOST: the lab host
     */
    public record Step(String text, Action action, String vm, String from, String to, String attack,
            int bandwidthMiBps, String host) {
        public Step {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(action, "action");
            attack = attack == null ? "" : attack;
            if ((action == Action.CRASH_HOST || action == Action.RESTART_HOST) && host == null) {
                throw new IllegalArgumentException(action + " needs the host to crash or restart");
            }
        }

        static Step reset() {
            return new Step("Reset the lab: every VM is destroyed and the demo VMs are created again.",
                    Action.RESET, null, null, null, "", 0, null);
        }

        static Step migrate(String text, String vm, String from, String to, String attack, int bandwidth) {
            return new Step(text, Action.MIGRATE, vm, from, to, attack, bandwidth, null);
        }

        static Step cancel(String text) {
            return new Step(text, Action.CANCEL, null, null, null, "", 0, null);
        }

        static Step crash(String text, String host) {
            return new Step(text, Action.CRASH_HOST, null, null, null, "", 0, host);
        }

        static Step restart(String text, String host) {
            return new Step(text, Action.RESTART_HOST, null, null, null, "", 0, host);
        }

        static Step observe(String text) {
            return new Step(text, Action.OBSERVE, null, null, null, "", 0, null);
        }
    }

    public LabScenario {
        Objects.requireNonNull(id, "id");
        steps = List.copyOf(steps);
    }

    /** The migration step, if the scenario has one. */
    public Step migration() {
        return steps.stream().filter(s -> s.action() == Action.MIGRATE).findFirst().orElse(null);
    }

    private static final List<LabScenario> ALL = List.of(
            new LabScenario("replay", "Watch a replay get caught",
                    "dom0 re-sends an old sealed copy of the protected process's pages. The destination hypervisor"
                            + " compares every page version with the signed MANIFEST and refuses the migration;"
                            + " db-01 keeps running on h1.",
                    List.of(Step.reset(),
                            Step.migrate("Migrate db-01 (protected process vault) from h1 to h2 with the 'replay'"
                                    + " attack injected.", "db-01", "h1", "h2", "replay", 0),
                            Step.observe("Read the verdict below and the red banner in the Migration Monitor:"
                                    + " ABORTED_BY_DESTINATION, with dom0's replay and the hypervisor's answer in"
                                    + " the anomalies. db-01 is still on h1 in the Inventory."))),
            new LabScenario("cancel", "Cancel mid-migration",
                    "A cancel before RELEASE is a real ABORT: the source hypervisor records it, the destination"
                            + " discards its copy and the VM keeps running at the source.",
                    List.of(Step.reset(),
                            Step.migrate("Migrate ci-runner (busy working set) from h2 to h3, capped at 2 MiB/s so"
                                    + " it takes a while.", "ci-runner", "h2", "h3", "", 2),
                            Step.cancel("While the rounds are running, cancel the migration: the console asks h2's"
                                    + " agent to send ABORT."),
                            Step.observe("The outcome is ABORTED_BY_SOURCE ('cancelled by the operator before"
                                    + " RELEASE'); ci-runner is still on h2."))),
            new LabScenario("crash-after-release", "Host crash after RELEASE",
                    "After RELEASE the source may no longer resume the VM or cancel: only the destination's DONE or"
                            + " ABORT token (or an operator's fence) decides. Here the destination h3 really"
                            + " crashes (its agent and hypervisor are killed) after RELEASE, before it resumed the"
                            + " VM, and boots again: its sealed state decides, and db-01 runs once.",
                    List.of(Step.reset(),
                            Step.migrate("Migrate db-01 (protected process vault) from h1 to h3 while h1's dom0"
                                    + " holds the RELEASE it sends ('hold-release'). Wait for RELEASED in the"
                                    + " Migration Monitor: h1 has released db-01 and keeps it paused, h3 holds its"
                                    + " verified copy (READY) and would give it up after 30 s.", "db-01", "h1",
                                    "h3", "hold-release", 0),
                            Step.crash("Crash h3: the lab kills its agent and its hypervisor (SIGKILL), and the"
                                    + " verified copy dies with its memory. h1 cannot tell whether h3 had resumed"
                                    + " db-01, so it keeps it paused and in doubt (a cancel is refused) and retries"
                                    + " RELEASE every few seconds.", "h3"),
                            Step.restart("Restart h3: its hypervisor boots from its sealed state, which shows the"
                                    + " migration never resumed there, so h3's agent decides ABORT and the"
                                    + " hypervisor signs an ABORT token. h1's re-served RELEASE gets that token"
                                    + " back; only once h1's hypervisor has accepted it may db-01 resume on h1.",
                                    "h3"),
                            Step.observe("The migration ends ABORTED_BY_DESTINATION ('aborted by h3'): db-01 runs on"
                                    + " h1 only, with vault. Each hypervisor signed its own record (Attestations"
                                    + " part): h1's names h3's abort, h3's the ABORT its recovery decided after the"
                                    + " restart. Had h3 crashed after resuming db-01, its sealed RESUMING would"
                                    + " answer DONE instead: h1 discards its copy and db-01 is lost with h3's"
                                    + " memory, as in any host crash. Never two running copies."))));

    public static List<LabScenario> all() {
        return ALL;
    }
}
