package org.sealift.console.core.lab;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import org.sealift.model.MigrationOutcome;

/**
 * An attack a lab agent can play against one migration ({@code inject} in {@code POST /v1/migrations}; the agent
 * plays the malicious dom0 of PROTOCOL.md). The texts follow the agent's own catalogue (docs/api.md, "Fault
 * injection"): what dom0 tries and what catches it.
 *
 * @param label               the name the agent knows it by ("replay")
 * @param tries               one line: what the malicious dom0 does
 * @param caughtBy            one line: who catches it and how the migration ends
 * @param expected            how the migration ends when the attack is caught
 * @param needsProtectedPages true if the attack works on sealed pages, so the VM needs a protected process
 */
public record LabAttack(String label, String tries, String caughtBy, MigrationOutcome expected,
        boolean needsProtectedPages) {

    public LabAttack {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(tries, "tries");
        Objects.requireNonNull(caughtBy, "caughtBy");
        Objects.requireNonNull(expected, "expected");
    }

    private static final List<LabAttack> ALL = List.of(
            new LabAttack("replay", "re-sends an older sealing of protected pages instead of the newest one",
                    "the destination hypervisor's MANIFEST check finds the stale page versions:"
                            + " ABORTED_BY_DESTINATION (MANIFEST_MISMATCH)",
                    MigrationOutcome.ABORTED_BY_DESTINATION, true),
            new LabAttack("tamper", "flips one bit of a sealed protected page on the way",
                    "the destination hypervisor's AES-GCM tag check: ABORTED_BY_DESTINATION (TAMPERED)",
                    MigrationOutcome.ABORTED_BY_DESTINATION, true),
            new LabAttack("swap", "swaps the page numbers of two sealed pages",
                    "the page number is bound into each sealing: ABORTED_BY_DESTINATION (TAMPERED)",
                    MigrationOutcome.ABORTED_BY_DESTINATION, true),
            new LabAttack("reorder", "holds the MANIFEST back and delivers it after the source's ABORT",
                    "the source's deadline ends the migration first: ABORTED_BY_SOURCE (DEADLINE); the destination"
                            + " records REORDERED",
                    MigrationOutcome.ABORTED_BY_SOURCE, false),
            new LabAttack("drop-manifest", "drops the MANIFEST so the destination never sees the end of the stream",
                    "the source's paused-without-RELEASE deadline: ABORTED_BY_SOURCE (DEADLINE), the VM runs on at"
                            + " the source",
                    MigrationOutcome.ABORTED_BY_SOURCE, false),
            new LabAttack("early-resume", "the destination's dom0 starts the verified copy before RELEASE",
                    "the destination hypervisor refuses to resume before RELEASE; the migration commits with the"
                            + " refusal recorded",
                    MigrationOutcome.COMMITTED, false),
            new LabAttack("fork", "the source's dom0 resumes the VM after RELEASE (two running copies)",
                    "the source hypervisor refuses to resume a released VM; COMMITTED with the refusal recorded",
                    MigrationOutcome.COMMITTED, false),
            new LabAttack("resume-after-manifest", "the source's dom0 resumes the VM after the MANIFEST was sent",
                    "the source hypervisor records ABORT first, then refuses what dom0 asks next (the last sealings,"
                            + " RELEASE): ABORTED_BY_SOURCE",
                    MigrationOutcome.ABORTED_BY_SOURCE, false),
            new LabAttack("double-migration", "the source's dom0 starts a second migration of the VM during the first",
                    "the source hypervisor's migration lock refuses the second; the first commits",
                    MigrationOutcome.COMMITTED, false),
            new LabAttack("rollback-state", "after RELEASE, puts the hypervisor's old sealed state back and resumes"
                    + " the VM", "the hypervisor's monotonic counter exposes the rollback and it refuses the resume;"
                            + " COMMITTED",
                    MigrationOutcome.COMMITTED, false),
            new LabAttack("stall", "holds the destination's READY and stops forwarding",
                    "the source's deadline: ABORTED_BY_SOURCE (DEADLINE); the destination aborts after its own"
                            + " deadline and zeroizes its copy",
                    MigrationOutcome.ABORTED_BY_SOURCE, false),
            new LabAttack("hold-done", "holds the destination's DONE after RELEASE (as if the destination went away)",
                    "the source keeps the VM paused and in doubt; its agent re-serves RELEASE until DONE comes back:"
                            + " COMMITTED, one running copy",
                    MigrationOutcome.COMMITTED, false),
            new LabAttack("impersonate", "sends the migration to another host that answers in the requested one's"
                    + " place", "the source hypervisor checks the attested host id in HELLO_REPLY: REJECTED",
                    MigrationOutcome.REJECTED, false),
            new LabAttack("unendorsed-key", "puts an attestation key dom0 made itself (its own CA, no endorsement)"
                    + " into HELLO", "the destination hypervisor accepts only AK certificates of the cluster CA:"
                            + " REJECTED (CERTIFICATE)",
                    MigrationOutcome.REJECTED, false),
            new LabAttack("old-policy", "replays an older policy to its hypervisor and claims the older serial in"
                    + " HELLO", "its own hypervisor refuses the older policy and the destination rejects the withheld"
                            + " update: REJECTED (REPLAY)",
                    MigrationOutcome.REJECTED, false));

    /** Every attack the lab agents know, in the agent's order. */
    public static List<LabAttack> all() {
        return ALL;
    }

    public static Optional<LabAttack> byLabel(String label) {
        if (label == null) {
            return Optional.empty();
        }
        String l = label.trim().toLowerCase(Locale.ROOT);
        return ALL.stream().filter(a -> a.label.equals(l)).findFirst();
    }

    /** "replay: re-sends … — caught by: …", for a list or a tooltip. */
    public String explain() {
        return label + ": " + tries + ". Caught by " + caughtBy + ".";
    }

    /**
     * Whether a migration that ran with this attack shows it caught.
     *
     * @param outcome   how the migration ended
     * @param reason    the agents' reason for the outcome
     * @param anomalies what the agents recorded on the way (dom0's notes and the hypervisors' answers)
     */
    public LabVerdict judge(MigrationOutcome outcome, String reason, List<String> anomalies) {
        String why = outcome + (reason == null || reason.isBlank() ? "" : " (" + reason + ")");
        for (String a : anomalies) {
            // the lab agent writes "(not expected)" or "the hypervisor allowed it" when the hypervisor let dom0's
            // step through; only resume-after-manifest is meant to be allowed (the hypervisor records ABORT first)
            boolean allowed = a.contains("the hypervisor allowed it") && !label.equals("resume-after-manifest");
            if (allowed || a.contains("not expected")) {
                return LabVerdict.notCaught(label, "the hypervisor let dom0's step through: " + a);
            }
        }
        if (outcome != expected) {
            return LabVerdict.notCaught(label, "expected " + expected + " but the migration ended " + why);
        }
        if (expected == MigrationOutcome.COMMITTED && label.equals("hold-done")) {
            return LabVerdict.caught(label, "ended " + why + " with one running copy: " + caughtBy);
        }
        if (expected == MigrationOutcome.COMMITTED && anomalies.stream().noneMatch(a -> a.contains("refused")
                || a.contains("detected"))) {
            // a commit proves nothing unless the hypervisor's refusal of dom0's step is on record
            return LabVerdict.notCaught(label, "the migration committed but no refusal of dom0's step is on record");
        }
        return LabVerdict.caught(label, "ended " + why + ": " + caughtBy);
    }
}
