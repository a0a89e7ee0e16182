package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.eclipse.core.runtime.NullProgressMonitor;
import org.eclipse.e4.core.contexts.ContextInjectionFactory;
import org.eclipse.e4.core.contexts.EclipseContextFactory;
import org.eclipse.e4.core.contexts.IEclipseContext;
import org.eclipse.jface.wizard.WizardDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.layout.FillLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.eclipse.swt.widgets.Tree;
import org.eclipse.swt.widgets.TreeItem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.agent.internal.AgentInventorySource;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.internal.AttestationReviewServiceImpl;
import org.sealift.console.core.internal.CompatibilityServiceImpl;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.internal.TrustMaterialServiceImpl;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.lab.LabService;
import org.sealift.console.core.lab.LabStatus;
import org.sealift.console.core.lab.internal.LabServiceImpl;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.console.ui.monitor.MigrationCharts;
import org.sealift.console.ui.parts.InventoryPart;
import org.sealift.console.ui.parts.LabPart;
import org.sealift.console.ui.parts.MigrationMonitorPart;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationOutcome;

/**
 * The console against a REAL lab: {@code ClientMain lab} from the agent jar (simulated hypervisors h1-h3 and the
 * rogue h4, one agent process each, mutual TLS), started once by the console's own lab service in a temporary
 * folder, reset to its demo VMs before every test. The console's services are wired by hand over the real agent
 * client; the widgets are driven with real input (XTEST mouse, Display.post keys).
 */
class LabClusterUiTest {

    /** A migration with the lab's small demo VMs ends in seconds; the lab's deadlines are 10 s. */
    private static final long MIGRATION_MILLIS = 90_000;

    private static Path labDir;
    private static LabServiceImpl owner;

    private Display display;
    private Shell shell;
    private IEclipseContext context;
    private SettingsServiceImpl settings;
    private LabServiceImpl lab;
    private AgentDirectory directory;
    private InventoryServiceImpl inventory;
    private MigrationMonitorServiceImpl monitor;

    @BeforeAll
    static void startLab() throws Exception {
        String jar = System.getProperty("sealift.agent.jar");
        labDir = Files.createTempDirectory("sealift-ui-lab").resolve("lab");
        owner = new LabServiceImpl(labDir, jar == null || jar.isBlank() || jar.equals("null") ? null : Path.of(jar));
        owner.bindSettings(new SettingsServiceImpl(Files.createTempDirectory("sealift-lab-owner")));
        LabStatus s = owner.attachOrStart(new NullProgressMonitor());
        assertTrue(s.running() && s.startedByConsole(), s::describe);
        assertEquals(List.of("h1", "h2", "h3", "h4"), s.agents().stream().map(LabStatus.Agent::host).toList());
    }

    @AfterAll
    static void stopLab() {
        if (owner != null) {
            owner.deactivate();
            assertFalse(owner.refresh().running(), "the lab the test started is stopped again");
        }
    }

    @BeforeEach
    void open() throws Exception {
        display = Display.getDefault();
        Path home = Files.createTempDirectory("sealift-console");
        settings = new SettingsServiceImpl(home);
        // a second lab service over the same folder, as a second console would be: it attaches, it never starts one
        lab = new LabServiceImpl(labDir, null);
        lab.bindSettings(settings);
        LabStatus s = lab.attachOrStart(new NullProgressMonitor());
        assertTrue(s.running() && !s.startedByConsole() && s.labPid() == owner.current().labPid(), s::describe);
        assertEquals(4, settings.current().agents().size(), "attaching put the lab's agents into the settings");
        lab.reset(new NullProgressMonitor());

        directory = new AgentDirectory(settings, Clock.systemUTC());
        inventory = new InventoryServiceImpl(new AgentInventorySource(directory));
        lab.bindInventory(inventory);
        monitor = new MigrationMonitorServiceImpl();
        TrustMaterialServiceImpl trust = new TrustMaterialServiceImpl(settings);
        context = EclipseContextFactory.create("sealift lab ui test");
        context.set(SettingsService.class, settings);
        context.set(TrustMaterialService.class, trust);
        context.set(InventoryService.class, inventory);
        context.set(CompatibilityService.class, new CompatibilityServiceImpl(trust));
        context.set(MigrationMonitorService.class, monitor);
        context.set(AttestationReviewService.class, new AttestationReviewServiceImpl(trust, Clock.systemUTC()));
        context.set(MigrationService.class, new AgentMigrationService(directory));
        context.set(LabService.class, lab);
        shell = new Shell(display, SWT.SHELL_TRIM);
        shell.setText("Sealift lab test");
        shell.setLayout(new FillLayout());
        shell.setBounds(0, 0, 1260, 780);
    }

    @AfterEach
    void close() {
        for (Shell s : display.getShells()) {
            if (!s.isDisposed()) {
                s.dispose();
            }
        }
        context.dispose();
    }

    private <T> T part(Class<T> type, Composite parent) {
        Composite c = new Composite(parent, SWT.BORDER);
        IEclipseContext ctx = context.createChild(type.getSimpleName());
        ctx.set(Composite.class, c);
        return ContextInjectionFactory.make(type, ctx);
    }

    private void openShell() {
        shell.open();
        shell.forceActive();
    }

    // ---- inventory, wizard, monitor ----------------------------------------------------------------------------

    private Tree tree() {
        return UiRobot.find(shell, UiIds.INVENTORY_TREE, Tree.class);
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

    private List<String> children(UiRobot r, TreeItem i) {
        return r.sync(() -> Arrays.stream(i.getItems()).map(TreeItem::getText).toList());
    }

    @Test
    void theInventoryShowsTheLabsHostsAndVmsAndTheRogueHostAsNotAttested() {
        part(InventoryPart.class, shell);
        openShell();
        UiRobot.drive(display, r -> {
            host(r, "h4");
            assertEquals(List.of("h1 \u2014 attested, 2 VMs", "h2 \u2014 attested, 1 VM", "h3 \u2014 attested, 0 VMs",
                    "h4 \u2014 NOT attested, 1 VM"), rows(r));
            TreeItem h1 = host(r, "h1");
            r.expand(r.sync(this::tree), h1);
            r.waitFor(() -> h1.getItemCount() == 2 && item(h1.getItems(), "db-01") != null,
                    () -> "h1's VMs: " + children(r, h1));
            assertEquals(List.of("web-01 \u2014 running", "db-01 \u2014 running, 1 protected"), children(r, h1));
            TreeItem db = r.sync(() -> item(h1.getItems(), "db-01"));
            r.expand(r.sync(this::tree), db);
            r.waitFor(() -> db.getItemCount() == 1 && db.getItem(0).getText().startsWith("vault"),
                    () -> "db-01's protected process: " + children(r, db));
            r.screenshot("lab-inventory");
        });
    }

    @Test
    void aDropOnTheRogueHostIsRefusedAndADropOnH2OpensTheWizardWhoseFinishMigratesIntoTheCharts() {
        SashForm sash = new SashForm(shell, SWT.HORIZONTAL);
        part(InventoryPart.class, sash);
        MigrationMonitorPart monitorPart = part(MigrationMonitorPart.class, sash);
        sash.setWeights(36, 64);
        openShell();
        UiRobot.drive(display, r -> {
            TreeItem h1 = host(r, "h1");
            r.expand(r.sync(this::tree), h1);
            r.waitFor(() -> item(h1.getItems(), "web-01") != null, () -> "web-01 listed: " + children(r, h1));
            TreeItem web = r.sync(() -> item(h1.getItems(), "web-01"));
            r.click(r.on(web));

            r.drag(r.on(web), r.on(host(r, "h4")));
            r.settle();
            String refusal = r.sync(() -> UiRobot.find(shell, UiIds.INVENTORY_MESSAGE, MessageLine.class).getText());
            assertTrue(refusal.startsWith("Cannot migrate web-01 to h4: host h4 is not attested: "), refusal);
            assertTrue(refusal.contains("is not in policy 'lab'"), refusal);
            assertNull(r.findShell("Migrate web-01"), "a refused drop opens no wizard");

            r.drag(r.on(web), r.on(host(r, "h2")));
            Shell wizard = r.shell("Migrate web-01");
            WizardDialog dialog = (WizardDialog) r.sync(() -> wizard.getData());
            Table hosts = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_HOSTS, Table.class));
            assertTrue(r.sync(() -> hosts.getSelection()[0].getText()).startsWith("h2 \u2014 attested"),
                    "the drop target is pre-selected");
            r.screenshot("lab-wizard-destination");
            r.click(button(r, wizard, "Next >"));
            r.click(button(r, wizard, "Next >"));
            Table checks = r.sync(() -> UiRobot.find(wizard, UiIds.WIZARD_CHECKS, Table.class));
            r.waitFor(() -> dialog.getCurrentPage().getMessage() != null && dialog.getCurrentPage().getMessage()
                    .startsWith("All checks passed"), () -> "pre-flight passed against the lab agents; checks: "
                            + Arrays.stream(checks.getItems()).map(i -> i.getText(0) + " " + i.getText(1)).toList()
                            + "; error: " + dialog.getCurrentPage().getErrorMessage());
            r.click(button(r, wizard, "Next >"));
            r.waitFor(() -> button(r, wizard, "Finish").isEnabled(), () -> "Finish enabled");
            r.click(button(r, wizard, "Finish"));
            r.waitFor(wizard::isDisposed, () -> "the wizard closes");

            MigrationCharts charts = monitorPart.charts();
            assertTrue(r.waitFor(() -> charts.values(MigrationCharts.DIRTY).length >= 1, MIGRATION_MILLIS),
                    "the chart received at least one round from the agents' event stream");
            assertTrue(r.waitFor(() -> monitor.current().runs().size() == 1 && monitor.current().runs().get(0)
                    .isFinished(), MIGRATION_MILLIS), () -> "the migration ended: " + monitor.current().runs());
            MigrationRun run = monitor.current().runs().get(0);
            assertEquals(MigrationOutcome.COMMITTED, run.outcome().orElseThrow(), () -> run.summary().reason());
            r.waitFor(() -> charts.values(MigrationCharts.MEASURED).length >= 1, () -> "measured downtime plotted");
            double measured = r.sync(() -> charts.values(MigrationCharts.MEASURED)[0]);
            assertEquals(run.measuredDowntimeMs().orElseThrow(), measured, 1e-6, "the chart shows the final downtime");
            assertTrue(measured > 0, "a live migration pauses the VM for a moment: " + measured);
            r.waitFor(() -> monitorPart.banner().text().startsWith("Committed: web-01: h1 \u2192 h2"),
                    () -> "committed banner: " + monitorPart.banner().text());
            r.screenshot("lab-monitor-committed");
        });
    }

    private static Button button(UiRobot r, Shell shell, String text) {
        return r.sync(() -> UiRobot.all(shell, Button.class, b -> text.equals(b.getText().replace("&", ""))).get(0));
    }

    @Test
    void anAgentThatDoesNotAnswerIsShownAsUnreachable() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort(); // nothing listens there once it is closed
        }
        ConsoleSettings s = settings.current();
        List<AgentRef> agents = new ArrayList<>(s.agents());
        agents.add(AgentRef.parse("h9", "https://127.0.0.1:" + closedPort));
        settings.save(new ConsoleSettings(agents, s.operatorCertificate(), s.operatorKey(), s.trustAnchor(),
                s.policy(), s.akCertificates(), s.defaults()));
        part(InventoryPart.class, shell);
        openShell();
        inventory.refresh();
        UiRobot.drive(display, r -> {
            TreeItem h9 = host(r, "h9");
            assertEquals("h9 \u2014 unreachable", r.sync(h9::getText));
            // the other agents still answer; h1 was the source of the previous test's cancelled migration and may
            // be slow to answer on a loaded machine: a person would press Reconnect, so does this test, once
            if (r.sync(() -> host(r, "h1").getText()).endsWith("unreachable")) {
                String why = inventory.current().host("h1").orElseThrow().problem();
                System.out.println("LabClusterUiTest: h1 did not answer the refresh (" + why + "); reconnecting");
                inventory.reconnect("h1");
            }
            r.waitFor(() -> host(r, "h1").getText().equals("h1 \u2014 attested, 2 VMs"), () -> "h1 answers: "
                    + host(r, "h1").getText() + " / " + inventory.current().host("h1").orElseThrow().problem());
            String problem = inventory.current().host("h9").orElseThrow().problem();
            assertTrue(problem.contains("h9"), problem);
        });
    }

    // ---- the lab part ------------------------------------------------------------------------------------------

    private static TableItem row(Table t, String prefix) {
        return Arrays.stream(t.getItems()).filter(i -> i.getText().startsWith(prefix)).findFirst().orElse(null);
    }

    private String verdict(UiRobot r) {
        return r.sync(() -> UiRobot.find(shell, LabPart.VERDICT, MessageLine.class).getText());
    }

    @Test
    void theLabPartInjectsAReplayIntoAMigrationAndShowsItCaught() {
        part(LabPart.class, shell);
        openShell();
        UiRobot.drive(display, r -> {
            Label status = r.sync(() -> UiRobot.find(shell, LabPart.STATUS, Label.class));
            r.waitFor(() -> status.getText().contains("lab running"), () -> "lab status: " + status.getText());
            Table agents = r.sync(() -> UiRobot.find(shell, LabPart.AGENTS, Table.class));
            r.waitFor(() -> agents.getItemCount() == 4, () -> "4 lab agents listed");
            assertTrue(r.sync(() -> agents.getItem(3).getText(0)).equals("h4 (rogue)"));

            // Reset through the part's button (the agents destroy and recreate the demo VMs)
            r.click(r.sync(() -> UiRobot.find(shell, LabPart.RESET, Button.class)));
            MessageLine message = r.sync(() -> UiRobot.find(shell, LabPart.MESSAGE, MessageLine.class));
            assertTrue(r.waitFor(() -> message.getText().startsWith("lab reset: 4 VMs destroyed"), 60_000),
                    () -> "reset done: " + r.sync(message::getText));

            Table attacks = r.sync(() -> UiRobot.find(shell, LabPart.ATTACKS, Table.class));
            assertEquals(15, r.sync(attacks::getItemCount), "every attack the lab agents know is listed");
            r.click(r.on(r.sync(() -> row(attacks, "replay"))));
            MessageLine detail = r.sync(() -> UiRobot.find(shell, LabPart.ATTACK_DETAIL, MessageLine.class));
            r.waitFor(() -> detail.getText().startsWith("replay: re-sends an older sealing")
                    && detail.getText().contains("Caught by the destination hypervisor's MANIFEST check"),
                    () -> "the attack explained: " + detail.getText());
            Table vms = r.sync(() -> UiRobot.find(shell, LabPart.VM, Table.class));
            r.waitFor(() -> row(vms, "db-01 on h1") != null, () -> "db-01 offered");
            r.click(r.on(r.sync(() -> row(vms, "db-01 on h1"))));
            Table destinations = r.sync(() -> UiRobot.find(shell, LabPart.DESTINATION, Table.class));
            r.click(r.on(r.sync(() -> row(destinations, "h2"))));
            Button run = r.sync(() -> UiRobot.find(shell, LabPart.RUN, Button.class));
            r.waitFor(run::isEnabled, () -> "Run enabled; attack " + attacks.getSelectionIndex() + ", VM "
                    + vms.getSelectionIndex() + ", destination " + destinations.getSelectionIndex());
            r.click(run);

            assertTrue(r.waitFor(() -> verdict(r).startsWith("CAUGHT") || verdict(r).startsWith("NOT CAUGHT")
                    || verdict(r).startsWith("Not started"), MIGRATION_MILLIS), () -> "a verdict: " + verdict(r));
            assertTrue(verdict(r).startsWith("CAUGHT: replay \u2014 ended ABORTED_BY_DESTINATION"), verdict(r));
            String notes = r.sync(() -> UiRobot.find(shell, LabPart.ANOMALIES, Text.class).getText());
            assertTrue(notes.contains("replay: dom0 replays"), () -> "dom0's replay is on record: " + notes);
            MigrationRun run0 = monitor.current().runs().get(0);
            assertEquals("replay", run0.request().inject());
            assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, run0.outcome().orElseThrow());
            r.screenshot("lab-part-replay-caught");

            // db-01 still runs on h1: the attacked migration changed nothing
            inventory.refresh();
            r.waitFor(() -> inventory.current().vms("h1").map(l -> l.stream().anyMatch(v -> v.name().equals("db-01")))
                    .orElse(false), () -> "db-01 still on h1: " + inventory.current().vms("h1"));
        });
    }

    private String hostState(UiRobot r, Table agents, String host) {
        return r.sync(() -> {
            TableItem i = row(agents, host);
            return i == null ? "(no row)" : i.getText(3);
        });
    }

    @Test
    void theCrashAfterReleaseScenarioCrashesH3ForRealAndDb01ResumesOnH1Once() {
        part(LabPart.class, shell);
        openShell();
        UiRobot.drive(display, r -> {
            Label status = r.sync(() -> UiRobot.find(shell, LabPart.STATUS, Label.class));
            r.waitFor(() -> status.getText().contains("lab running"), () -> "lab status: " + status.getText());
            Table agents = r.sync(() -> UiRobot.find(shell, LabPart.AGENTS, Table.class));
            r.waitFor(() -> agents.getItemCount() == 4, () -> "4 lab agents listed");
            org.eclipse.swt.widgets.Combo scenario = r.sync(() -> UiRobot.find(shell, LabPart.SCENARIO,
                    org.eclipse.swt.widgets.Combo.class));
            r.click(scenario);
            r.press(SWT.ARROW_DOWN);
            r.press(SWT.ARROW_DOWN);
            r.press(SWT.CR);
            r.waitFor(() -> scenario.getText().equals("Host crash after RELEASE"), () -> "scenario chosen: "
                    + scenario.getText());
            Table vms = r.sync(() -> UiRobot.find(shell, LabPart.VM, Table.class));
            r.waitFor(() -> row(vms, "db-01 on h1") != null, () -> "db-01 offered");
            Button crash = r.sync(() -> UiRobot.find(shell, LabPart.STEP + 3, Button.class));
            Button restart = r.sync(() -> UiRobot.find(shell, LabPart.STEP + 4, Button.class));
            assertEquals("Crash h3", r.sync(crash::getText));
            assertEquals("Restart h3", r.sync(restart::getText));
            assertFalse(r.sync(restart::isEnabled), "h3 runs: nothing to restart yet");

            // h1's dom0 holds the RELEASE it sends: h1 released db-01 (paused), h3 holds its verified copy
            r.click(r.sync(() -> UiRobot.find(shell, LabPart.STEP + 2, Button.class)));
            assertTrue(r.waitFor(() -> monitor.current().runs().size() == 1 && monitor.current().runs().get(0)
                    .phase() == org.sealift.model.MigrationPhase.RELEASED, MIGRATION_MILLIS),
                    () -> "the migration reached RELEASE: " + monitor.current().runs());
            String id = monitor.current().runs().get(0).migrationId();

            // a real crash of h3: its agent and hypervisor processes are killed by the lab
            r.waitFor(crash::isEnabled, () -> "Crash h3 enabled");
            r.click(crash);
            assertTrue(r.waitFor(() -> hostState(r, agents, "h3").startsWith("crashed"), MIGRATION_MILLIS),
                    () -> "h3 shown crashed: " + hostState(r, agents, "h3"));
            assertTrue(r.waitFor(() -> inventory.current().host("h3").map(h -> !h.isReachable()).orElse(false),
                    MIGRATION_MILLIS), () -> "h3's agent is unreachable: " + inventory.current().host("h3"));
            assertEquals("running", hostState(r, agents, "h1"), "only h3 crashed");
            Text notes = r.sync(() -> UiRobot.find(shell, LabPart.ANOMALIES, Text.class));
            assertTrue(r.waitFor(() -> notes.getText().contains("host h1 released VM db-01 but has no DONE from h3"),
                    MIGRATION_MILLIS), () -> "h1 holds db-01 in doubt: " + r.sync(notes::getText));
            assertFalse(monitor.current().runs().get(0).isFinished(), "nothing decides while h3 is down");
            r.screenshot("lab-part-h3-crashed-after-release");

            // h3 boots from its sealed state; its ABORT token lets h1 resume db-01
            r.waitFor(restart::isEnabled, () -> "Restart h3 enabled");
            r.click(restart);
            assertTrue(r.waitFor(() -> hostState(r, agents, "h3").equals("running"), MIGRATION_MILLIS),
                    () -> "h3 running again: " + hostState(r, agents, "h3"));
            assertTrue(r.waitFor(() -> verdict(r).startsWith("db-01: h1 \u2192 h3 ended ABORTED_BY_DESTINATION (")
                    && verdict(r).contains(" only"), MIGRATION_MILLIS), () -> "a verdict: " + verdict(r));
            assertTrue(verdict(r).endsWith(". db-01 runs on h1 only, with its protected process."), verdict(r));
            MigrationRun run = monitor.current().runs().get(0);
            assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, run.outcome().orElseThrow(), () -> run.summary()
                    .reason());
            r.screenshot("lab-part-crash-after-release");

            // exactly one running copy, at h1, with its protected process, in the agents' freshly read VM lists
            // (a restarted agent's first TLS handshakes can outlast the client's connect timeout: ask again)
            java.util.function.BooleanSupplier listed = () -> java.util.stream.Stream.of("h1", "h2", "h3", "h4")
                    .allMatch(h -> inventory.current().vms(h).isPresent() && !inventory.current().loadingVms(h));
            for (int attempt = 0; attempt < 10 && !r.sync(listed::getAsBoolean); attempt++) {
                inventory.refresh();
                r.waitFor(listed, 30_000);
            }
            r.waitFor(listed, () -> "every host's VMs listed: " + inventory.current().hosts());
            List<String> running = new ArrayList<>();
            for (String h : List.of("h1", "h2", "h3", "h4")) {
                inventory.current().vms(h).orElseThrow().stream().filter(v -> v.name().equals("db-01")
                        && v.state() == org.sealift.console.core.inventory.VmState.RUNNING).forEach(v -> running.add(
                                h + " with " + v.protectedProcesses() + " protected"));
            }
            assertEquals(List.of("h1 with 1 protected"), running);
            // the record of how it ended, from the agents' logs, verified by the console
            AttestationReviewServiceImpl review = new AttestationReviewServiceImpl(new TrustMaterialServiceImpl(
                    settings), Clock.systemUTC());
            org.sealift.console.core.attest.ImportResult fetched = new org.sealift.console.agent.internal
                    .AgentAttestationFetcher(directory, review).fetchAll(new NullProgressMonitor());
            assertEquals(List.of(), fetched.problems());
            List<org.sealift.console.core.attest.AttestationEntry> records = review.entries().stream().filter(e -> e
                    .migrationId().equalsIgnoreCase(id)).toList();
            assertFalse(records.isEmpty(), "a record of " + id + " in the agents' logs: " + review.entries());
            for (org.sealift.console.core.attest.AttestationEntry e : records) {
                assertEquals(org.sealift.protocol.attest.Outcome.ABORTED_BY_DESTINATION, e.outcome(), e.label());
                org.sealift.console.core.attest.Verdict v = review.verify(e);
                assertTrue(v.ok(), e.label() + " from " + e.logHost() + ": " + v.failures());
            }
        });
    }

    @Test
    void theCancelScenarioAbortsAMigrationBeforeRelease() {
        part(LabPart.class, shell);
        openShell();
        UiRobot.drive(display, r -> {
            Label status = r.sync(() -> UiRobot.find(shell, LabPart.STATUS, Label.class));
            r.waitFor(() -> status.getText().contains("lab running"), () -> "lab status: " + status.getText());
            org.eclipse.swt.widgets.Combo scenario = r.sync(() -> UiRobot.find(shell, LabPart.SCENARIO,
                    org.eclipse.swt.widgets.Combo.class));
            // pick the second scenario with the keyboard: focus the drop-down, then arrow down
            r.click(scenario);
            r.press(SWT.ARROW_DOWN);
            r.press(SWT.CR);
            r.waitFor(() -> scenario.getText().equals("Cancel mid-migration"), () -> "scenario chosen: "
                    + scenario.getText());
            Table vms = r.sync(() -> UiRobot.find(shell, LabPart.VM, Table.class));
            r.waitFor(() -> row(vms, "ci-runner on h2") != null, () -> "ci-runner offered");
            Button start = r.sync(() -> UiRobot.find(shell, LabPart.STEP + 2, Button.class));
            assertEquals("Start", r.sync(start::getText));
            r.click(start);
            // 64 MiB at 2 MiB/s: the first pre-copy round alone takes half a minute
            assertTrue(r.waitFor(() -> monitor.current().runs().size() == 1 && monitor.current().runs().get(0)
                    .phase() == org.sealift.model.MigrationPhase.PRECOPY, MIGRATION_MILLIS),
                    () -> "the migration is in pre-copy: " + monitor.current().runs());
            Button cancel = r.sync(() -> UiRobot.find(shell, LabPart.STEP + 3, Button.class));
            r.click(cancel);
            assertTrue(r.waitFor(() -> monitor.current().runs().get(0).isFinished(), MIGRATION_MILLIS),
                    "the migration ended");
            MigrationRun run = monitor.current().runs().get(0);
            assertEquals(MigrationOutcome.ABORTED_BY_SOURCE, run.outcome().orElseThrow(), () -> run.summary()
                    .reason());
            r.waitFor(() -> verdict(r).contains("ended ABORTED_BY_SOURCE") && verdict(r).contains("stays on h2")
                    && verdict(r).contains("ABORT sent"), () -> "verdict: " + verdict(r));
            r.screenshot("lab-part-cancel");
        });
    }
}
