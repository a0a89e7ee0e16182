package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.Reachability;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.FakeInventorySource;

class InventoryServiceTest {

    @Test
    void loadsHostsInTheBackgroundAndShowsAnUnreachableAgentWithItsReason() {
        FakeInventorySource src = FakeInventorySource.smallCluster();
        InventoryServiceImpl inv = new InventoryServiceImpl(src);
        // one snapshot per check: an empty one has no CONNECTING host either, and the next may be all CONNECTING
        Await.until(() -> answered(inv.current(), 5), () -> "hosts loaded: " + inv.current().hosts());

        InventorySnapshot s = inv.current();
        assertTrue(s.sourceAvailable());
        assertEquals(List.of("h1", "h2", "h3", "h4", "h5"), s.hosts().stream().map(HostNode::hostId).toList());
        HostNode h5 = s.host("h5").orElseThrow();
        assertEquals(Reachability.UNREACHABLE, h5.reachability());
        assertEquals("agent h5 (https://10.0.0.5:7443) is unreachable: connection refused (is 'sealift agent'"
                + " running on h5?)", h5.problem());
        assertFalse(s.host("h4").orElseThrow().attested());
        assertEquals(2, s.host("h1").orElseThrow().vmCount());
    }

    @Test
    void vmsAndProcessesAreLoadedOnlyWhenAskedFor() {
        FakeInventorySource src = FakeInventorySource.smallCluster();
        InventoryServiceImpl inv = new InventoryServiceImpl(src);
        Await.until(() -> inv.current().host("h1").map(HostNode::isReachable).orElse(false), () -> "h1 loaded");
        assertEquals(0, src.vmCalls.get(), "no VM list may be fetched before a host is opened");
        assertTrue(inv.current().vms("h1").isEmpty());

        inv.loadVms("h1");
        Await.until(() -> inv.current().vms("h1").isPresent(), () -> "VMs of h1");
        assertEquals(List.of("web-1", "db-1"), inv.current().vms("h1").get().stream().map(VmNode::name).toList());
        assertEquals(1, src.vmCalls.get(), "only h1's VMs were asked for");

        inv.loadVms("h1"); // already loaded: no second request
        String web = inv.current().vms("h1").get().get(0).vmId();
        inv.loadProcesses("h1", web);
        Await.until(() -> inv.current().processes("h1", web).isPresent(), () -> "processes of web-1");
        assertEquals(2, inv.current().processes("h1", web).get().size());
        assertEquals(1, src.vmCalls.get());
        assertEquals(1, src.processCalls.get());
    }

    @Test
    void reconnectBringsBackAnAgentThatAnswersAgainAndReloadsItsVms() {
        FakeInventorySource src = FakeInventorySource.smallCluster();
        InventoryServiceImpl inv = new InventoryServiceImpl(src);
        Await.until(() -> inv.current().host("h1").map(HostNode::isReachable).orElse(false), () -> "h1 loaded");
        inv.loadVms("h1");
        Await.until(() -> inv.current().vms("h1").isPresent(), () -> "VMs of h1");

        src.setDown("h1", "no route to host");
        inv.reconnect("h1");
        Await.until(() -> inv.current().host("h1").get().reachability() == Reachability.UNREACHABLE,
                () -> "h1 unreachable: " + inv.current().host("h1"));
        assertTrue(inv.current().host("h1").get().problem().endsWith("no route to host"));
        assertTrue(inv.current().vms("h1").isEmpty(), "the VMs of an unreachable host are stale and not shown");

        src.setDown("h1", null);
        inv.reconnect("h1");
        Await.until(() -> inv.current().vms("h1").isPresent(), () -> "h1 back with its VMs");
        assertTrue(inv.current().host("h1").get().isReachable());
    }

    @Test
    void listenersReceiveEverySnapshotInVersionOrder() {
        FakeInventorySource src = FakeInventorySource.smallCluster();
        List<InventorySnapshot> seen = new CopyOnWriteArrayList<>();
        InventoryServiceImpl inv = new InventoryServiceImpl(src);
        inv.addListener(seen::add);
        inv.refresh();
        Await.until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).hosts().stream()
                .noneMatch(h -> h.reachability() == Reachability.CONNECTING), () -> "snapshots: " + seen);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).version() > seen.get(i - 1).version(), "versions must grow: " + seen);
        }
    }

    @Test
    void withoutAnInventorySourceTheSnapshotSaysSo() {
        InventoryServiceImpl inv = new InventoryServiceImpl();
        assertFalse(inv.current().sourceAvailable());
        assertTrue(inv.current().hosts().isEmpty());
    }

    /** All {@code n} hosts are in this snapshot and every one has answered (reachable or not). */
    static boolean answered(InventorySnapshot s, int n) {
        return s.hosts().size() == n && s.hosts().stream().noneMatch(h -> h.reachability() == Reachability.CONNECTING);
    }
}
