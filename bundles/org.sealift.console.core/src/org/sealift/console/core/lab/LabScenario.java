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
     */
    public record Step(String text, Action action, String vm, String from, String to, String attack,
            int bandwidthMiBps) {
        public Step {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(action, "action");
            attack = attack == null ? "" : attack;
        }

        static Step reset() {
            return new Step("Reset the lab: every VM is destroyed and the demo VMs are created again.",
                    Action.RESET, null, null, null, "", 0);
        }

        static Step migrate(String text, String vm, String from, String to, String attack, int bandwidth) {
            return new Step(text, Action.MIGRATE, vm, from, to, attack, bandwidth);
        }

        static Step cancel(String text) {
            return new Step(text, Action.CANCEL, null, null, null, "", 0);
        }

        static Step observe(String text) {
            return new Step(text, Action.OBSERVE, null, null, null, "", 0);
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
                    "After RELEASE the destination may already run the VM, so nobody may cancel any more. The lab"
                            + " plays a destination that goes silent right after RELEASE (dom0 holds its DONE):"
                            + " the source keeps the VM paused and in doubt and re-sends RELEASE until DONE"
                            + " arrives. There is never a second running copy.",
                    List.of(Step.reset(),
                            Step.migrate("Migrate db-01 from h1 to h3 while dom0 holds h3's DONE ('hold-done').",
                                    "db-01", "h1", "h3", "hold-done", 0),
                            Step.cancel("Once the monitor shows RELEASED, try to cancel: h1's agent refuses and says"
                                    + " why (h3 may already run the VM)."),
                            Step.observe("The migration stays in doubt for a few seconds, then h1's agent re-serves"
                                    + " RELEASE, gets DONE and records COMMITTED: db-01 runs on h3 only."))));

    public static List<LabScenario> all() {
        return ALL;
    }
}
