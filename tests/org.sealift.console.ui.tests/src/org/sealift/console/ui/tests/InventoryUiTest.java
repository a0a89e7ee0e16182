package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.eclipse.jface.wizard.WizardDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.CLabel;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Menu;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.Text;
import org.eclipse.swt.widgets.Tree;
import org.eclipse.swt.widgets.TreeItem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.tests.fixtures.FakeInventorySource;
import org.sealift.console.core.tests.fixtures.ScriptedMigrationService;
import org.sealift.console.ui.monitor.MigrationCharts;
import org.sealift.console.ui.parts.InventoryPart;
import org.sealift.console.ui.parts.MigrationMonitorPart;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationPhase;

/**
 * The inventory, drag-and-drop, the migration wizard and the monitor, driven with real input events over the small
 * test cluster: h1 (web-1 with 2 protected processes, db-1), h2 (attested, room), h3 (too little memory), h4 (not
 * attested), h5 (agent unreachable).
 */
class InventoryUiTest {

    private static final String GOOD_MEASUREMENT = FakeInventorySource.GOOD_MEASUREMENT_HEX;

    private FakeInventorySource source;
    private ScriptedMigrationService migrations;
    private ConsoleHarness h;
    private InventoryPart inventory;
    private MigrationMonitorPart monitorPart;

    @BeforeEach
    void open() throws Exception {
        source = FakeInventorySource.smallCluster();
        migrations = new ScriptedMigrationService();
        h = new ConsoleHarness(source, migrations, "Sealift inventory test");
        SashForm sash = new SashForm(h.shell, SWT.HORIZONTAL);
        inventory = h.part(InventoryPart.class, sash);
        monitorPart = h.part(MigrationMonitorPart.class, sash);
        sash.setWeights(36, 64);
        h.open();
    }

    @AfterEach
    void close() {
        for (Shell s : h.display.getShells()) {
            if (s != h.shell && !s.isDisposed()) {
                s.dispose();
            }
        }
        h.close();
    }

    private Tree tree() {
        return UiRobot.find(h.shell, UiIds.INVENTORY_TREE, Tree.class);
    }

    private static TreeItem item(TreeItem[] items, String prefix) {
        return Arrays.stream(items).filter(i -> i.getText().startsWith(prefix)).findFirst().orElse(null);
    }

    private TreeItem host(UiRobot r, String id) {
        r.waitFor(() -> item(tree().getItems(), id + " \u2014 ") != null && !item(tree().getItems(), id + " \u2014 ")
                .getText().contains("connecting"), () -> "host row " + id + "; rows: " + rows(r));
        return r.sync(() -> item(tree().getItems(), id + " \u2014 "));
    }

    private List<String> rows(UiRobot r) {
        return r.sync(() -> Arrays.stream(tree().getItems()).map(TreeItem::getText).toList());
    }

    /** Selects the host row with a click and opens it with the keypad '+' key, then waits for the VM rows. */
    private void expandH1(UiRobot r) {
        TreeItem h1 = host(r, "h1");
        r.expand(r.sync(this::tree), h1);
        r.waitFor(() -> h1.getExpanded() && h1.getItemCount() == 2 && item(h1.getItems(), "web-1") != null,
                () -> "h1 expanded with its VMs; children: " + Arrays.stream(h1.getItems()).map(TreeItem::getText)
                        .toList());
    }

    private String message(UiRobot r) {
        return r.sync(() -> UiRobot.find(h.shell, UiIds.INVENTORY_MESSAGE, MessageLine.class).getText());
    }

    @Test
    void theTreeShowsHostsAndVmsLazilyWithStatesAndTheUnreachableAgent() {
        UiRobot.drive(h.display, r -> {
            host(r, "h5");
            assertEquals(List.of("h1 \u2014 attested, 2 VMs", "h2 \u2014 attested, 0 VMs", "h3 \u2014 attested, 0 VMs",
                    "h4 \u2014 NOT attested, 0 VMs", "h5 \u2014 unreachable"), rows(r));
            assertEquals(0, source.vmCalls.get(), "VMs are loaded only when a host is opened");

            expandH1(r);
            TreeItem h1 = host(r, "h1");
            assertEquals(List.of("web-1 \u2014 running, 2 protected", "db-1 \u2014 paused"), r.sync(() -> Arrays
                    .stream(h1.getItems()).map(TreeItem::getText).toList()));
            assertEquals(1, source.vmCalls.get(), "only h1's VMs were loaded");

            // hovering a host shows the full measurement
            r.moveTo(r.on(host(r, "h2")));
            r.moveTo(new org.eclipse.swt.graphics.Point(r.on(host(r, "h2")).x + 3, r.on(host(r, "h2")).y));
            r.waitFor(() -> tooltipShowing(GOOD_MEASUREMENT), () -> "a tooltip with h2's measurement");
            r.screenshot("console-inventory-tooltip");
        });
    }

    private boolean tooltipShowing(String text) {
        for (Shell s : h.display.getShells()) {
            if (s.isVisible() && s != h.shell && !UiRobot.all(s, Control.class, c -> c instanceof Label l
                    && l.getText().contains(text) || c instanceof CLabel cl && cl.getText() != null
                    && cl.getText().contains(text)).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void anUnreachableAgentIsShownAsSuchAndReconnectBringsItBack() {
        UiRobot.drive(h.display, r -> {
            TreeItem h5 = host(r, "h5");
            assertEquals("h5 \u2014 unreachable", r.sync(h5::getText));
            assertEquals(0, r.sync(h5::getItemCount), "an unreachable host has no VM rows");

            source.host("h5", 20_000);
            source.setDown("h5", null);
            r.clickButton(r.on(h5), 3); // right-click: the context menu
            r.waitFor(() -> tree().getMenu() != null && tree().getMenu().isVisible(), () -> "context menu");
            Menu menu = r.sync(() -> tree().getMenu());
            assertEquals(List.of("Reconnect", "Refresh all hosts"), r.sync(() -> Arrays.stream(menu.getItems())
                    .map(i -> i.getText()).toList()));
            r.press(SWT.ARROW_DOWN);
            r.press(SWT.CR);
            r.waitFor(() -> h5.getText().equals("h5 \u2014 attested, 0 VMs"), () -> "h5 reconnected: "
                    + h5.getText());
        });
    }

    @Test
    void droppingAVmOnAnAttestedHostOpensTheWizardPreFilledAndFinishingItRunsTheMigrationIntoTheCharts() {
        UiRobot.drive(h.display, r -> {
            expandH1(r);
            TreeItem web = r.sync(() -> item(host(r, "h1").getItems(), "web-1"));
            r.click(r.on(web));
            r.drag(r.on(web), r.on(host(r, "h2")));

            Shell wizard = r.shell("Migrate web-1");
            WizardDialog dialog = (WizardDialog) r.sync(() -> wizard.getData());
            Table hosts = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_HOSTS, Table.class));
            assertEquals("h2 \u2014 attested, 0 VMs", r.sync(() -> hosts.getSelection()[0].getText()),
                    "the drop target is pre-selected");
            assertEquals("Host h2 can take web-1.", r.sync(() -> dialog.getCurrentPage().getMessage()));
            r.screenshot("console-wizard-destination");

            r.click(button(r, wizard, "Next >"));
            Text rounds = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_ROUNDS, Text.class));
            r.click(rounds);
            r.press(SWT.END);
            r.backspace(4);
            r.type("0");
            r.waitFor(() -> "max rounds 0 is out of range: use 1 to 1000".equals(dialog.getCurrentPage()
                    .getErrorMessage()), () -> "the wizard names the bad value; message: "
                            + dialog.getCurrentPage().getErrorMessage());
            assertFalse(r.sync(() -> button(r, wizard, "Next >").isEnabled()), "Next must be disabled");
            r.screenshot("console-wizard-options-error");
            r.backspace(1);
            r.type("12");
            r.waitFor(() -> dialog.getCurrentPage().getErrorMessage() == null, () -> "error cleared");

            r.click(button(r, wizard, "Next >"));
            Table checks = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_CHECKS, Table.class));
            r.waitFor(() -> checks.getItemCount() > 0 && "All checks passed.".equals(dialog.getCurrentPage()
                    .getMessage()), () -> "pre-flight passed; rows: " + Arrays.stream(checks.getItems())
                            .map(i -> i.getText(1)).toList());
            assertEquals(1, migrations.preflightCalls.get(), "the agents' dry run ran once");
            r.screenshot("console-wizard-preflight");

            r.click(button(r, wizard, "Next >"));
            r.waitFor(() -> button(r, wizard, "Finish").isEnabled(), () -> "Finish enabled");
            r.click(button(r, wizard, "Finish"));
            r.waitFor(() -> wizard.isDisposed(), () -> "the wizard closes");

            MigrationRequest started = migrations.started.get(0);
            assertEquals("h2", started.destinationHostId());
            assertEquals(12, started.options().maxRounds());

            MigrationCharts charts = monitorPart.charts();
            r.waitFor(() -> charts.values(MigrationCharts.DIRTY).length == 6
                    && charts.values(MigrationCharts.MEASURED).length == 6,
                    () -> "charts with 6 rounds and the measured downtime; rounds: "
                            + charts.values(MigrationCharts.DIRTY).length);
            // the measured downtime is drawn as a level across every round, to read the estimates against
            for (double level : r.sync(() -> charts.values(MigrationCharts.MEASURED))) {
                assertEquals(87.5, level, 1e-9);
            }
            assertEquals(2_048, r.sync(() -> charts.values(MigrationCharts.PROTECTED)[0]), 1e-9);
            assertTrue(r.sync(() -> monitorPart.banner().text()).startsWith("Committed: web-1: h1 \u2192 h2. The VM"
                    + " runs on h2."), () -> r.sync(() -> monitorPart.banner().text()));
            assertEquals(List.of(MigrationPhase.HANDSHAKE, MigrationPhase.PRECOPY, MigrationPhase.STOP_AND_COPY,
                    MigrationPhase.AWAITING_READY, MigrationPhase.RELEASED, MigrationPhase.FINISHED),
                    r.sync(() -> monitorPart.timeline().phases()));
            r.screenshot("console-monitor-committed");
        });
    }

    private static Button button(UiRobot r, Shell shell, String text) {
        // JFace's button labels carry mnemonics ("&Next >")
        return r.sync(() -> UiRobot.all(shell, Button.class, b -> text.equals(b.getText().replace("&", ""))).get(0));
    }

    @Test
    void aDropOnAnIncompatibleHostIsRefusedWithTheReasonAndOpensNothing() {
        UiRobot.drive(h.display, r -> {
            expandH1(r);
            TreeItem web = r.sync(() -> item(host(r, "h1").getItems(), "web-1"));
            r.click(r.on(web));
            r.drag(r.on(web), r.on(host(r, "h4")));
            r.settle();
            UiRobot.pause(800); // GTK animates a refused drag back to its start; let it finish before the screenshot
            assertEquals("Cannot migrate web-1 to h4: host h4 is not attested: measurement 66666666\u2026 is not in"
                    + " policy 'prod-2026' serial 4; update its hypervisor or add the measurement to a new policy",
                    message(r));
            r.screenshot("console-inventory-refused-drop");
            assertNull(r.findShell("Migrate web-1"), "a refused drop must not open the wizard");

            r.drag(r.on(web), r.on(host(r, "h3")));
            r.settle();
            assertEquals("Cannot migrate web-1 to h3: host h3 has 512 MiB free, VM web-1 needs 2048 MiB: free memory"
                    + " on h3 or pick another host", message(r));
            assertNull(r.findShell("Migrate web-1"));
            assertTrue(migrations.started.isEmpty());
        });
    }

    @Test
    void migrateFromTheContextMenuAndACancelAfterReleaseIsRefusedWithItsReason() throws Exception {
        migrations.afterRelease = new CountDownLatch(1);
        UiRobot.drive(h.display, r -> {
            expandH1(r);
            TreeItem web = r.sync(() -> item(host(r, "h1").getItems(), "web-1"));
            r.click(r.on(web));
            r.clickButton(r.on(web), 3);
            r.waitFor(() -> tree().getMenu() != null && tree().getMenu().isVisible(), () -> "context menu");
            assertEquals("Migrate\u2026", r.sync(() -> tree().getMenu().getItem(0).getText()));
            r.press(SWT.ARROW_DOWN);
            r.press(SWT.CR);

            Shell wizard = r.shell("Migrate web-1");
            WizardDialog dialog = (WizardDialog) r.sync(() -> wizard.getData());
            Table hosts = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_HOSTS, Table.class));
            assertEquals("h2 — attested, 0 VMs", r.sync(() -> hosts.getSelection()[0].getText()),
                    "from the menu, the first host that can take the VM is pre-selected");
            r.click(r.on(r.sync(() -> Arrays.stream(hosts.getItems()).filter(i -> i.getText().startsWith("h4"))
                    .findFirst().get())));
            r.waitFor(() -> dialog.getCurrentPage().getErrorMessage() != null, () -> "h4 refused in the wizard");
            assertTrue(r.sync(() -> dialog.getCurrentPage().getErrorMessage()).startsWith("host h4 is not attested"));
            r.click(r.on(r.sync(() -> Arrays.stream(hosts.getItems()).filter(i -> i.getText().startsWith("h2"))
                    .findFirst().get())));
            r.waitFor(() -> button(r, wizard, "Next >").isEnabled(), () -> "Next enabled for h2");
            r.click(button(r, wizard, "Next >"));
            r.click(button(r, wizard, "Next >"));
            r.waitFor(() -> "All checks passed.".equals(dialog.getCurrentPage().getMessage()), () -> "pre-flight");
            r.click(button(r, wizard, "Next >"));
            r.waitFor(() -> button(r, wizard, "Finish").isEnabled(), () -> "Finish enabled");
            r.click(button(r, wizard, "Finish"));

            assertTrue(migrations.released.await(60, TimeUnit.SECONDS), "the migration reaches RELEASE");
            Button cancel = r.sync(() -> UiRobot.find(h.shell, UiIds.MONITOR_CANCEL, Button.class));
            r.waitFor(() -> cancel.isEnabled() && monitorPart.banner().text().contains("released"),
                    () -> "running banner after RELEASE: " + monitorPart.banner().text());
            r.click(cancel);
            r.waitFor(() -> monitorPart.banner().text().contains("Cancel refused: "), () -> "refusal shown: "
                    + monitorPart.banner().text());
            assertTrue(r.sync(() -> monitorPart.banner().text()).contains(ScriptedMigrationService.AFTER_RELEASE));
            assertEquals(1, migrations.cancelCalls.get(), "the cancel reached the agent");
            r.screenshot("console-monitor-cancel-refused");
            migrations.afterRelease.countDown();
            r.waitFor(() -> monitorPart.banner().text().startsWith("Committed: "), () -> "committed");
            assertEquals(CancelState.REFUSED, h.monitor.current().runs().get(0).cancel());
        });
    }

    @Test
    void theWizardCannotFinishWithoutAnAgentClientAndSaysWhy() throws Exception {
        h.context.remove(org.sealift.console.core.migration.MigrationService.class);
        UiRobot.drive(h.display, r -> {
            expandH1(r);
            TreeItem web = r.sync(() -> item(host(r, "h1").getItems(), "web-1"));
            r.click(r.on(web));
            r.drag(r.on(web), r.on(host(r, "h2")));
            Shell wizard = r.shell("Migrate web-1");
            WizardDialog dialog = (WizardDialog) r.sync(() -> wizard.getData());
            r.click(button(r, wizard, "Next >"));
            r.click(button(r, wizard, "Next >"));
            r.waitFor(() -> dialog.getCurrentPage().getErrorMessage() != null, () -> "pre-flight failure");
            assertTrue(r.sync(() -> dialog.getCurrentPage().getErrorMessage()).startsWith("the console's agent client"
                    + " is not installed"), () -> r.sync(() -> dialog.getCurrentPage().getErrorMessage()));
            assertFalse(r.sync(() -> button(r, wizard, "Next >").isEnabled()));
            assertFalse(r.sync(() -> button(r, wizard, "Finish").isEnabled()));
            r.screenshot("console-wizard-no-agent-client");
            r.click(button(r, wizard, "Cancel"));
            r.waitFor(wizard::isDisposed, () -> "wizard closed");
            assertNotNull(h.monitor.current());
            assertTrue(h.monitor.current().runs().isEmpty(), "nothing was started");
        });
    }
}
