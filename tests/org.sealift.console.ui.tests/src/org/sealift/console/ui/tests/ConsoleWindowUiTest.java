package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.eclipse.e4.ui.internal.workbench.E4Workbench;
import org.eclipse.e4.ui.internal.workbench.swt.E4Application;
import org.eclipse.e4.ui.model.application.MApplication;
import org.eclipse.e4.ui.model.application.ui.basic.MPart;
import org.eclipse.e4.ui.workbench.modeling.EModelService;
import org.eclipse.equinox.app.IApplication;
import org.eclipse.equinox.app.IApplicationContext;
import org.eclipse.swt.custom.CLabel;
import org.eclipse.swt.custom.CTabFolder;
import org.eclipse.swt.custom.CTabItem;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.Tree;
import org.eclipse.swt.widgets.TreeItem;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceRegistration;
import org.osgi.util.tracker.ServiceTracker;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.inventory.InventorySource;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.core.tests.fixtures.FakeInventorySource;
import org.sealift.console.core.tests.fixtures.TestCluster;
import org.sealift.console.ui.parts.AttestationsPart;
import org.sealift.console.ui.parts.DetailsPart;
import org.sealift.console.ui.parts.InventoryPart;
import org.sealift.console.ui.parts.LabPart;
import org.sealift.console.ui.parts.MigrationMonitorPart;
import org.sealift.console.ui.parts.PreferencesPart;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiIds;

/**
 * Boots the console's real e4 application model (org.sealift.console.app/Application.e4xmi) with the same renderers
 * and the same DS services as the product, then looks at what a person sees: the window, the empty inventory and
 * why it is empty; an agent client (a test inventory source) registered while the console runs, its hosts in the
 * tree, the Details part following the selection; each part in its tab. Needs an X display (xvfb-run).
 */
class ConsoleWindowUiTest {

    private static final String APP_BUNDLE = "org.sealift.console.app";

    @Test
    void theConsoleShowsEveryPartAndPicksUpAnAgentClientWhileRunning() throws Exception {
        // the pom gives the runtime a console home and an empty lab folder of its own (DS services may start before
        // this test: an immediate component pulls in the settings); set them when run some other way
        if (System.getProperty("sealift.console.home") == null) {
            Path home = Files.createTempDirectory("sealift-console-home");
            System.setProperty("sealift.console.home", home.toString());
            System.setProperty("sealift.lab.dir", home.resolve("lab").toString());
        }
        assertTrue(!Path.of(System.getProperty("sealift.console.home")).startsWith(Path.of(System.getProperty(
                "user.home"), ".sealift")), "the test must not write the person's console settings");
        Display display = Display.getDefault();
        E4Application application = new E4Application();
        E4Workbench workbench = application.createE4Workbench(new TestApplicationContext(), display);
        MApplication model = workbench.getApplication();
        BundleContext osgi = FrameworkUtil.getBundle(ConsoleWindowUiTest.class).getBundleContext();
        Throwable[] failure = new Throwable[1];

        Thread driver = new Thread(() -> {
            try {
                runScenario(UiRobot.attach(display), model, osgi);
            } catch (Throwable t) {
                failure[0] = t;
            } finally {
                display.asyncExec(workbench::close);
            }
        }, "console-window-driver");
        driver.setDaemon(true);
        driver.start();
        workbench.createAndRunUI(model);
        driver.join(60_000);
        if (failure[0] instanceof Error e) {
            throw e;
        }
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
    }

    private static void runScenario(UiRobot r, MApplication model, BundleContext osgi) throws Exception {
        Shell shell = r.shell("Sealift");
        EModelService models = model.getContext().get(EModelService.class);
        Map<String, Class<?>> parts = Map.of("org.sealift.console.part.inventory", InventoryPart.class,
                "org.sealift.console.part.details", DetailsPart.class,
                "org.sealift.console.part.monitor", MigrationMonitorPart.class,
                "org.sealift.console.part.attestations", AttestationsPart.class,
                "org.sealift.console.part.preferences", PreferencesPart.class,
                "org.sealift.console.part.lab", LabPart.class);
        for (Map.Entry<String, Class<?>> e : parts.entrySet()) {
            assertNotNull(r.sync(() -> models.find(e.getKey(), model)), e.getKey() + " missing from the model");
        }
        MPart inventoryPart = r.sync(() -> (MPart) models.find("org.sealift.console.part.inventory", model));
        assertEquals("Inventory", inventoryPart.getLabel());
        r.waitFor(() -> inventoryPart.getObject() instanceof InventoryPart, () -> "Inventory part created");
        Control inventoryWidget = r.sync(() -> (Control) inventoryPart.getWidget());
        Tree tree = r.sync(() -> UiRobot.find(inventoryWidget, UiIds.INVENTORY_TREE, Tree.class));
        assertNotNull(tree);
        assertEquals(Boolean.TRUE, r.sync(() -> tree.getData(InventoryPart.TREE_ID)));
        Label hint = r.sync(() -> UiRobot.find(inventoryWidget, UiIds.INVENTORY_HINT, Label.class));
        r.waitFor(() -> hint.getText().startsWith("No agents connected"), () -> "the empty inventory says why");
        assertEquals(0, r.sync(tree::getItemCount), "inventory must be empty without agents");
        // the test runtime has the real agent client (the lab tests use it), with no agents in the settings
        assertEquals("No agents connected. Add the agents of your hosts in Preferences.", r.sync(hint::getText));
        r.screenshot("console-inventory-empty");

        // an agent client appears while the console runs (DS rebinds the inventory service to it)
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_RANKING, 100);
        ServiceRegistration<InventorySource> reg = osgi.registerService(InventorySource.class,
                FakeInventorySource.smallCluster(), props);
        try {
            r.waitFor(() -> tree.getItemCount() == 5 && tree.getItem(4).getText().equals("h5 \u2014 unreachable"),
                    () -> "hosts from the agent client; rows: " + Arrays.stream(tree.getItems())
                            .map(TreeItem::getText).toList());
            r.waitFor(() -> !hint.isVisible(), () -> "hint hidden once hosts are shown");
            r.click(r.on(r.sync(() -> tree.getItem(0))));
            MPart detailsPart = r.sync(() -> (MPart) models.find("org.sealift.console.part.details", model));
            Control details = r.sync(() -> (Control) detailsPart.getWidget());
            CLabel title = r.sync(() -> UiRobot.find(details, UiIds.DETAILS_TITLE, CLabel.class));
            r.waitFor(() -> "Host h1 \u2014 attested, 2 VMs".equals(title.getText()), () -> "details of h1: "
                    + title.getText());
            TreeItem h1 = r.sync(() -> tree.getItem(0));
            r.expand(tree, h1);
            r.waitFor(() -> h1.getItemCount() == 2 && h1.getItem(0).getText().startsWith("web-1"), () -> "VMs of h1");
            r.click(r.on(r.sync(() -> h1.getItem(0))));
            r.waitFor(() -> title.getText().equals("VM web-1 \u2014 running, 2 protected"), () -> "details of web-1: "
                    + title.getText());
            Button migrate = r.sync(() -> UiRobot.find(details, UiIds.DETAILS_MIGRATE, Button.class));
            assertTrue(r.sync(migrate::isEnabled));
            r.click(r.on(r.sync(() -> tree.getItem(4))));
            r.waitFor(() -> title.getText().equals("Host h5 \u2014 unreachable"), () -> "details of h5");
            Table props5 = r.sync(() -> UiRobot.find(details, UiIds.DETAILS_TABLE, Table.class));
            assertTrue(r.sync(() -> Arrays.stream(props5.getItems()).anyMatch(i -> i.getText(0).equals("Problem")
                    && i.getText(1).contains("connection refused"))));
            assertTrue(r.sync(() -> UiRobot.find(details, UiIds.DETAILS_RECONNECT, Button.class).isEnabled()));
            r.click(r.on(r.sync(() -> tree.getItem(0))));
            r.screenshot("console-inventory-details");

            // records and trust material for the Attestations part, through the console's own DS services
            TestCluster cluster = new TestCluster();
            TestCluster.Host a = cluster.host("h1");
            TestCluster.Host b = cluster.host("h2");
            SettingsService settings = service(osgi, SettingsService.class);
            Path home = Path.of(System.getProperty("sealift.console.home"));
            settings.save(cluster.writeTrust(home.resolve("trust"), a, b));
            AttestationReviewService review = service(osgi, AttestationReviewService.class);
            review.add(List.of(cluster.committed(a, b, TestCluster.NOW.minusSeconds(900)),
                    TestCluster.tampered(cluster.committed(b, a, TestCluster.NOW.minusSeconds(600))),
                    cluster.aborted(a, b, TestCluster.VM, TestCluster.NOW.minusSeconds(300), "operator cancelled")),
                    "test agent");

            for (String tab : List.of("Migration Monitor", "Attestations", "Lab", "Preferences")) {
                CTabItem item = r.sync(() -> tabItem(shell, tab));
                assertNotNull(item, "no tab " + tab);
                r.click(r.on(item));
                String id = switch (tab) {
                    case "Migration Monitor" -> "org.sealift.console.part.monitor";
                    case "Attestations" -> "org.sealift.console.part.attestations";
                    case "Lab" -> "org.sealift.console.part.lab";
                    default -> "org.sealift.console.part.preferences";
                };
                MPart p = r.sync(() -> (MPart) models.find(id, model));
                r.waitFor(() -> p.getObject() != null && p.getWidget() instanceof Control c && c.isVisible(),
                        () -> tab + " rendered and visible");
                assertTrue(parts.get(id).isInstance(r.sync(p::getObject)));
                if (tab.equals("Attestations")) {
                    Control w = r.sync(() -> (Control) p.getWidget());
                    Table t = r.sync(() -> UiRobot.find(w, UiIds.ATTEST_TABLE, Table.class));
                    r.waitFor(() -> t.getItemCount() == 3, () -> "records listed");
                    r.click(r.on(r.sync(() -> t.getItem(0))));
                    r.click(r.sync(() -> UiRobot.find(w, UiIds.ATTEST_VERIFY, Button.class)));
                    MessageLine verdict = r.sync(() -> UiRobot.find(w, UiIds.ATTEST_VERDICT, MessageLine.class));
                    r.waitFor(() -> verdict.getText().startsWith("PASS"), () -> "PASS: " + verdict.getText());
                }
                if (tab.equals("Lab")) {
                    // the DS lab service looks at its folder: no lab there, and every attack is listed
                    Control w = r.sync(() -> (Control) p.getWidget());
                    Label status = r.sync(() -> UiRobot.find(w, LabPart.STATUS, Label.class));
                    r.waitFor(() -> status.getText().endsWith("no lab runs in " + home.resolve("lab")),
                            () -> "lab status: " + status.getText());
                    assertEquals(15, r.sync(() -> UiRobot.find(w, LabPart.ATTACKS, Table.class).getItemCount()));
                }
                r.screenshot("console-" + tab.toLowerCase().replace(' ', '-'));
            }
        } finally {
            reg.unregister();
        }
        r.waitFor(() -> tree.getItemCount() == 0 && hint.getText().startsWith("No agents connected"),
                () -> "inventory empty again after the agent client went away");
    }

    private static <T> T service(BundleContext ctx, Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> t = new ServiceTracker<>(ctx, type, null);
        t.open();
        T s = t.waitForService(UiRobot.LIMIT_MILLIS);
        t.close();
        assertNotNull(s, type.getSimpleName() + " not registered");
        return s;
    }

    private static CTabItem tabItem(Shell shell, String text) {
        for (CTabFolder f : UiRobot.all(shell, CTabFolder.class, x -> true)) {
            for (CTabItem i : f.getItems()) {
                if (text.equals(i.getText())) {
                    return i;
                }
            }
        }
        return null;
    }

    /** What the OSGi application container would hand the product's application. */
    private static final class TestApplicationContext implements IApplicationContext {
        private final String[] args = { "-applicationXMI", APP_BUNDLE + "/Application.e4xmi",
                "-applicationCSS", "platform:/plugin/" + APP_BUNDLE + "/css/default.css",
                "-clearPersistedState", "-persistState", "false" };

        @Override
        public Map<String, Object> getArguments() {
            return Map.of(IApplicationContext.APPLICATION_ARGS, args);
        }

        @Override
        public void applicationRunning() {
        }

        @Override
        public String getBrandingApplication() {
            return "org.eclipse.e4.ui.workbench.swt.E4Application";
        }

        @Override
        public String getBrandingName() {
            return "Sealift";
        }

        @Override
        public String getBrandingDescription() {
            return "Sealift console";
        }

        @Override
        public String getBrandingId() {
            return APP_BUNDLE + ".product";
        }

        @Override
        public String getBrandingProperty(String key) {
            return null;
        }

        @Override
        public Bundle getBrandingBundle() {
            return Arrays.stream(FrameworkUtil.getBundle(ConsoleWindowUiTest.class).getBundleContext().getBundles())
                    .filter(b -> APP_BUNDLE.equals(b.getSymbolicName())).findFirst().orElse(null);
        }

        @Override
        public void setResult(Object result, IApplication application) {
        }
    }
}
