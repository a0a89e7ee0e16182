package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.console.core.lab.LabAttack;
import org.sealift.console.core.lab.LabScenario;
import org.sealift.console.core.lab.LabVerdict;
import org.sealift.model.MigrationOutcome;

/**
 * What the Lab part calls "caught": the outcome the protection must produce, and for attacks that end in a commit,
 * the hypervisor's refusal of dom0's step on record. The anomaly texts are the lab agent's own (Attacks.java).
 */
class LabVerdictTest {

    private static LabAttack attack(String label) {
        return LabAttack.byLabel(label).orElseThrow(() -> new AssertionError("no attack " + label));
    }

    @Test
    void theCatalogueHasEveryAttackTheLabAgentsKnowOnce() {
        List<String> labels = LabAttack.all().stream().map(LabAttack::label).toList();
        assertEquals(List.of("replay", "tamper", "swap", "reorder", "drop-manifest", "early-resume", "fork",
                "resume-after-manifest", "double-migration", "rollback-state", "stall", "hold-done", "impersonate",
                "unendorsed-key", "old-policy"), labels);
        assertTrue(attack("REPLAY ").needsProtectedPages(), "labels are matched as the agent matches them");
        for (LabScenario s : LabScenario.all()) {
            LabScenario.Step m = s.migration();
            // 'hold-release' only sets up the crash scenario (dom0 holds RELEASE until h3 is crashed); that
            // scenario's verdict counts the VM's running copies, so it is not an attack of the table
            assertTrue(m.attack().isEmpty() || m.attack().equals("hold-release")
                    || LabAttack.byLabel(m.attack()).isPresent(), s.title());
        }
    }

    @Test
    void aReplayRefusedByTheDestinationIsCaughtAndACommitIsNot() {
        List<String> notes = List.of("replay: dom0 replays the sealing of pfn 2048 version 1 in place of version 3"
                + " (and so for every newer sealing)");
        LabVerdict caught = attack("replay").judge(MigrationOutcome.ABORTED_BY_DESTINATION,
                "MANIFEST_MISMATCH: page 2048 version 1, manifest says 3", notes);
        assertTrue(caught.caught(), caught::headline);
        assertTrue(caught.headline().startsWith("CAUGHT: replay \u2014 ended ABORTED_BY_DESTINATION"
                + " (MANIFEST_MISMATCH"), caught.headline());

        LabVerdict missed = attack("replay").judge(MigrationOutcome.COMMITTED, "completed", List.of());
        assertFalse(missed.caught());
        assertEquals("NOT CAUGHT: replay \u2014 expected ABORTED_BY_DESTINATION but the migration ended COMMITTED"
                + " (completed)", missed.headline());
    }

    @Test
    void anAttackThatEndsInACommitCountsOnlyWithTheHypervisorsRefusalOnRecord() {
        String refused = "fork: dom0 resumed the VM at the source after RELEASE: refused by the hypervisor"
                + " (REFUSED: VM db-01 was released to h2)";
        assertTrue(attack("fork").judge(MigrationOutcome.COMMITTED, "completed", List.of(refused)).caught());
        assertFalse(attack("fork").judge(MigrationOutcome.COMMITTED, "completed", List.of()).caught(),
                "a plain commit proves nothing about the attack");
        LabVerdict allowed = attack("fork").judge(MigrationOutcome.COMMITTED, "completed", List.of(
                "fork: dom0 resumed the VM at the source after RELEASE: the hypervisor allowed it"));
        assertFalse(allowed.caught(), allowed::headline);
        assertTrue(allowed.message().startsWith("the hypervisor let dom0's step through"), allowed::headline);
        assertFalse(attack("double-migration").judge(MigrationOutcome.COMMITTED, "completed", List.of(
                "double-migration: the hypervisor ALLOWED a second migration 42 (not expected)")).caught());
    }

    @Test
    void resumeAfterManifestIsAllowedByDesignAndCaughtByTheAbortItRecords() {
        LabVerdict v = attack("resume-after-manifest").judge(MigrationOutcome.ABORTED_BY_SOURCE, "ABORTED: resumed",
                List.of("resume-after-manifest: dom0 resumed the VM at the source after the MANIFEST: the hypervisor"
                        + " allowed it (a resume after the MANIFEST first records ABORT for the migration, so"
                        + " RELEASE is refused)"));
        assertTrue(v.caught(), v::headline);
    }
}
