package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceRegistration;
import org.osgi.util.tracker.ServiceTracker;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.agent.internal.AgentAttestationFetcher;
import org.sealift.console.agent.internal.AgentInDoubtService;
import org.sealift.console.agent.internal.AgentInventorySource;
import org.sealift.console.core.attest.AttestationFetchService;
import org.sealift.console.core.migration.InDoubtService;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.InventorySource;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.FakeInventorySource;
import org.sealift.console.core.tests.fixtures.ScriptedMigrationService;

/** The core's components as the console gets them: from the OSGi service registry, made by DS from generated XML. */
class DeclarativeServicesTest {

    private static <T> T service(Class<T> type) throws InterruptedException {
        BundleContext ctx = FrameworkUtil.getBundle(DeclarativeServicesTest.class).getBundleContext();
        ServiceTracker<T, T> t = new ServiceTracker<>(ctx, type, null);
        t.open();
        try {
            T s = t.waitForService(Await.LIMIT_MILLIS);
            assertNotNull(s, type.getSimpleName() + " is not registered: is felix.scr running and does the core bundle"
                    + " carry OSGI-INF/*.xml?");
            return s;
        } finally {
            t.close();
        }
    }

    @Test
    void everyCoreServiceIsRegistered() throws Exception {
        for (Class<?> c : List.of(InventoryService.class, MigrationMonitorService.class, CompatibilityService.class,
                AttestationReviewService.class, SettingsService.class, TrustMaterialService.class)) {
            service(c);
        }
    }

    @Test
    void anInventorySourceRegisteredLaterIsPickedUpByTheInventoryService() throws Exception {
        InventoryService inv = service(InventoryService.class);
        BundleContext ctx = FrameworkUtil.getBundle(DeclarativeServicesTest.class).getBundleContext();
        // ranked above the agent client's source (org.sealift.console.agent), which this runtime also holds: the
        // inventory takes the best-ranked source, and falls back to the agent client when this one goes
        ServiceRegistration<InventorySource> reg = ctx.registerService(InventorySource.class,
                FakeInventorySource.smallCluster(), new Hashtable<>(Map.of(Constants.SERVICE_RANKING, 100)));
        try {
            Await.until(() -> {
                InventorySnapshot c = inv.current();
                return c.hosts().size() == 5 && c.host("h1").map(HostNode::isReachable).orElse(false);
            }, () -> "hosts through DS: " + inv.current());
        } finally {
            reg.unregister();
        }
        // the runtime's settings name no agents (and no lab), so the agent client's inventory is empty
        Await.until(() -> inv.current().hosts().isEmpty(), () -> "source gone: " + inv.current());
        assertEquals(0, inv.current().hosts().size());
    }

    @Test
    void theInventoryIsAskedAgainWhenAMigrationJobEnds() throws Exception {
        InventoryService inv = service(InventoryService.class);
        BundleContext ctx = FrameworkUtil.getBundle(DeclarativeServicesTest.class).getBundleContext();
        FakeInventorySource source = FakeInventorySource.smallCluster();
        ServiceRegistration<InventorySource> reg = ctx.registerService(InventorySource.class, source,
                new Hashtable<>(Map.of(Constants.SERVICE_RANKING, 100)));
        try {
            Await.until(() -> inv.current().hosts().size() == 5, () -> "hosts through DS: " + inv.current());
            org.eclipse.core.runtime.jobs.Job.getJobManager().join(
                    org.sealift.console.core.internal.InventoryServiceImpl.JOB_FAMILY, null);
            int before = source.hostCalls.get();
            org.sealift.console.core.migration.MigrationJob job = new org.sealift.console.core.migration.MigrationJob(
                    new org.sealift.console.core.migration.MigrationRequest("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
                            "web-1", "h1", "h2", org.sealift.model.MigrationOptions.defaults(
                                    org.sealift.model.MigrationMode.SECURE)),
                    new ScriptedMigrationService(), service(MigrationMonitorService.class));
            job.schedule();
            job.join();
            // the VM moved: without a refresh the tree would keep showing it on h1
            Await.until(() -> source.hostCalls.get() > before, () -> "no refresh after the migration ended");
        } finally {
            reg.unregister();
        }
    }

    @Test
    void theAgentClientsServicesAreRegistered() throws Exception {
        assertEquals(AgentInventorySource.class, service(InventorySource.class).getClass());
        service(AgentDirectory.class);
        assertEquals(AgentMigrationService.class, service(MigrationService.class).getClass());
        assertEquals(AgentAttestationFetcher.class, service(AttestationFetchService.class).getClass());
        assertEquals(AgentInDoubtService.class, service(InDoubtService.class).getClass());
        // started with the console (immediate): it follows migrations the console did not start
        assertEquals(0, service(org.sealift.console.agent.internal.ClusterWatcher.class).watching());
        // no agents in this runtime's settings: the listing is empty and names no problem
        assertEquals(new InDoubtService.Listing(List.of(), List.of()), service(InDoubtService.class).list());
    }
}
