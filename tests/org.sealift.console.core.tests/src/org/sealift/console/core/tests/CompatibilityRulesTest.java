package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.inventory.VmState;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.core.migration.CompatibilityRules;
import org.sealift.console.core.tests.fixtures.TestCluster;
import org.sealift.model.MigrationMode;
import org.sealift.protocol.pki.Policy;

/** Each reason a drop is refused, each with the sentence a person reads. */
class CompatibilityRulesTest {

    private static final String GOOD = "11".repeat(32);
    private static final String ROGUE = "66".repeat(32);
    private static final Policy POLICY = new TestCluster().policy; // allows measurement 11…, receive rule h* <- *

    private static HostNode host(String id, boolean attested, String measurement, long freeMiB) {
        return HostNode.reachable(id, new AgentRef(id, URI.create("https://" + id + ".lab:7443")), "sim", attested,
                measurement, "policy 'prod-2026' serial 4", 65536, freeMiB, 8, 1, "ok", List.of());
    }

    private static final HostNode H1 = host("h1", true, GOOD, 40_000);
    private static final VmNode WEB = new VmNode("h1", "vm-web", "web-1", VmState.RUNNING, 2048, 2, 2);

    @Test
    void attestedHostWithRoomAndAMatchingReceiveRuleIsAllowed() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("h2", true, GOOD, 30_000), POLICY,
                MigrationMode.SECURE);
        assertTrue(c.allowed(), () -> "refused: " + c.refusals());
        assertEquals("", c.reason());
    }

    @Test
    void theSameHostIsRefused() {
        Compatibility c = CompatibilityRules.check(WEB, H1, H1, POLICY, MigrationMode.SECURE);
        assertFalse(c.allowed());
        assertEquals("VM web-1 already runs on host h1: drop it on another host", c.reason());
    }

    @Test
    void aHostWhoseMeasurementIsNotInThePolicyIsRefusedNamingMeasurementAndPolicy() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("h4", false, ROGUE, 30_000), POLICY,
                MigrationMode.SECURE);
        assertFalse(c.allowed());
        assertEquals("host h4 is not attested: measurement 66666666\u2026 is not in policy 'prod-2026' serial 4;"
                + " update its hypervisor or add the measurement to a new policy", c.reason());
    }

    @Test
    void notAttestedIsOnlyAWarningInPlainModeForAVmWithoutProtectedProcesses() {
        VmNode plainVm = new VmNode("h1", "vm-batch", "batch-1", VmState.RUNNING, 1024, 1, 0);
        Compatibility c = CompatibilityRules.check(plainVm, H1, host("h4", false, ROGUE, 30_000), POLICY,
                MigrationMode.PLAIN);
        assertTrue(c.allowed(), () -> "refused: " + c.refusals());
        assertTrue(c.warnings().get(0).startsWith("host h4 is not attested"), c.warnings().toString());
    }

    @Test
    void aHostThePolicyDoesNotLetReceiveTheVmIsRefused() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("edge-7", true, GOOD, 30_000), POLICY,
                MigrationMode.SECURE);
        assertFalse(c.allowed());
        assertEquals("POLICY: policy 'prod-2026' serial 4 does not allow host edge-7 to receive VM vm-web: no receive"
                + " rule matches; add one (host pattern, VM pattern) in a new policy", c.reason());
    }

    @Test
    void notEnoughFreeMemoryIsRefusedWithBothNumbers() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("h3", true, GOOD, 512), POLICY, MigrationMode.SECURE);
        assertEquals(List.of("host h3 has 512 MiB free, VM web-1 needs 2048 MiB: free memory on h3 or pick another"
                + " host"), c.refusals());
    }

    @Test
    void anUnreachableDestinationIsRefusedWithTheAgentsProblem() {
        HostNode h5 = HostNode.unreachable(new AgentRef("h5", URI.create("https://h5.lab:7443")),
                "connection refused");
        Compatibility c = CompatibilityRules.check(WEB, H1, h5, POLICY, MigrationMode.SECURE);
        assertEquals("host h5 is unreachable (connection refused): reconnect it or pick another host", c.reason());
    }

    @Test
    void plainModeIsRefusedForAVmWithProtectedProcesses() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("h2", true, GOOD, 30_000), POLICY,
                MigrationMode.PLAIN);
        assertEquals(List.of("VM web-1 has 2 protected processes: plain mode would hand their memory to dom0; use"
                + " secure mode"), c.refusals());
    }

    @Test
    void aVmThatIsAlreadyMigratingIsRefused() {
        VmNode moving = new VmNode("h1", "vm-web", "web-1", VmState.MIGRATING, 2048, 2, 2);
        Compatibility c = CompatibilityRules.check(moving, H1, host("h2", true, GOOD, 30_000), POLICY,
                MigrationMode.SECURE);
        assertEquals("VM web-1 is already migrating: wait until that migration has ended", c.reason());
    }

    @Test
    void withoutAPolicyTheReceiveRuleIsAWarningNotASilentPass() {
        Compatibility c = CompatibilityRules.check(WEB, H1, host("h2", true, GOOD, 30_000), null,
                MigrationMode.SECURE);
        assertTrue(c.allowed());
        assertEquals(1, c.warnings().size());
        assertTrue(c.warnings().get(0).contains("no cluster policy is set in Preferences"), c.warnings().toString());
    }
}
