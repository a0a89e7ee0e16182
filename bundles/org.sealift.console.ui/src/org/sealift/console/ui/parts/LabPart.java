package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.jobs.IJobChangeEvent;
import org.eclipse.core.runtime.jobs.Job;
import org.eclipse.core.runtime.jobs.JobChangeAdapter;
import org.eclipse.e4.core.contexts.IEclipseContext;
import org.eclipse.e4.ui.di.Focus;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.ScrolledComposite;
import org.eclipse.swt.layout.FillLayout;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Group;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.Text;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.lab.LabAttack;
import org.sealift.console.core.lab.LabException;
import org.sealift.console.core.lab.LabScenario;
import org.sealift.console.core.lab.LabService;
import org.sealift.console.core.lab.LabStatus;
import org.sealift.console.core.lab.LabVerdict;
import org.sealift.console.core.migration.MigrationJob;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.MonitorSnapshot;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiCoalescer;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

/**
 * The training lab: where the lab runs and whether the console is attached to it (Attach / Start, Reset), an attack
 * to inject into the next migration with what it tries and what should catch it, the verdict of the last attacked
 * migration, and guided scenarios whose steps are buttons. Everything goes through core services: the lab service,
 * the migration service (a {@link MigrationJob}, as the wizard starts it) and the monitor.
 */
public class LabPart {

    public static final String STATUS = "lab.status";
    public static final String AGENTS = "lab.agents";
    public static final String ATTACH = "lab.attach";
    public static final String RESET = "lab.reset";
    public static final String MESSAGE = "lab.message";
    public static final String ATTACKS = "lab.attacks";
    public static final String ATTACK_DETAIL = "lab.attack.detail";
    public static final String VM = "lab.vm";
    public static final String DESTINATION = "lab.destination";
    public static final String RUN = "lab.run";
    public static final String VERDICT = "lab.verdict";
    public static final String ANOMALIES = "lab.anomalies";
    public static final String SCENARIO = "lab.scenario";
    public static final String SCENARIO_GOAL = "lab.scenario.goal";
    /** Step buttons are tagged "lab.step.1", "lab.step.2", … */
    public static final String STEP = "lab.step.";

    @Inject
    LabService lab;
    @Inject
    InventoryService inventory;
    @Inject
    MigrationMonitorService monitor;
    @Inject
    SettingsService settings;
    @Inject
    IEclipseContext context;

    private ConsoleImages images;
    private ScrolledComposite scroll;
    private Composite content;
    private Label status;
    private TableViewer agents;
    private Button attach;
    private Button reset;
    private MessageLine message;
    private TableViewer attacks;
    private Table vmTable;
    private Table destinationTable;
    private Button run;
    private MessageLine verdict;
    private MessageLine attackDetail;
    private Text anomalies;
    private Combo scenarioCombo;
    private Label scenarioGoal;
    private Composite stepsBox;

    private final List<VmNode> vmChoices = new ArrayList<>();
    private final List<String> destinationChoices = new ArrayList<>();
    private final Set<String> vmsAsked = new HashSet<>();
    private InventorySnapshot inv = InventorySnapshot.NO_SOURCE;
    private LabStatus labStatus;
    private boolean busy;

    /** The migration the lab started last (a Job until the source agent accepted it, then its id). */
    private MigrationJob tracked;
    private LabAttack trackedAttack;
    private String trackedStartError;
    /** The scenario whose step started the tracked migration, if one did (its verdict looks at where the VM runs). */
    private LabScenario trackedScenario;
    private LabScenario shownScenario;
    private boolean refreshedAfterEnd;

    private Consumer<LabStatus> labListener;
    private Consumer<InventorySnapshot> inventoryListener;
    private Consumer<MonitorSnapshot> monitorListener;

    @PostConstruct
    public void createControls(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        parent.setLayout(new FillLayout());
        ScrolledComposite scroll = new ScrolledComposite(parent, SWT.V_SCROLL | SWT.H_SCROLL);
        Composite c = new Composite(scroll, SWT.NONE);
        c.setLayout(new GridLayout(1, false));

        createLabGroup(c);
        // attacks on the left; scenarios and the verdict they lead to on the right, so the part fits a laptop screen
        // (two equal grid columns, not a SashForm: a sash asks its children for their height without the width they
        // get, and wrapped sentences then claim the height of a narrow column)
        Composite columns = new Composite(c, SWT.NONE);
        GridLayout cl = new GridLayout(2, true);
        cl.marginWidth = 0;
        cl.marginHeight = 0;
        columns.setLayout(cl);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(columns);
        createAttackGroup(columns);
        Composite right = new Composite(columns, SWT.NONE);
        GridLayout rl = new GridLayout(1, false);
        rl.marginWidth = 0;
        rl.marginHeight = 0;
        right.setLayout(rl);
        GridDataFactory.fillDefaults().grab(true, true).hint(300, SWT.DEFAULT).applyTo(right);
        createScenarioGroup(right);
        createVerdictGroup(right);

        scroll.setContent(c);
        scroll.setExpandHorizontal(true);
        scroll.setExpandVertical(true);
        this.scroll = scroll;
        this.content = c;
        scroll.addListener(SWT.Resize, e -> minSize());
        relayout();

        UiCoalescer<LabStatus> labUi = new UiCoalescer<>(status, 100, this::applyLab);
        labListener = labUi::post;
        lab.addListener(labListener);
        UiCoalescer<InventorySnapshot> invUi = new UiCoalescer<>(status, 100, this::applyInventory);
        inventoryListener = invUi::post;
        inventory.addListener(inventoryListener);
        UiCoalescer<MonitorSnapshot> monUi = new UiCoalescer<>(status, 100, s -> showTracked());
        monitorListener = monUi::post;
        monitor.addListener(monitorListener);
        background("Reading the lab folder", m -> lab.refresh());
    }

    // ---- the lab ---------------------------------------------------------------------------------------------------

    private void createLabGroup(Composite c) {
        Group g = group(c, "Lab cluster ('sealift lab')", 1);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(g);
        status = UiIds.tag(new Label(g, SWT.WRAP), STATUS);
        GridDataFactory.fillDefaults().grab(true, false).hint(400, SWT.DEFAULT).applyTo(status);
        Composite table = new Composite(g, SWT.NONE);
        TableColumnLayout tl = new TableColumnLayout();
        table.setLayout(tl);
        GridDataFactory.fillDefaults().grab(true, false).hint(SWT.DEFAULT, 122).applyTo(table);
        agents = new TableViewer(table, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION);
        UiIds.tag(agents.getTable(), AGENTS);
        agents.getTable().setHeaderVisible(true);
        agents.setContentProvider(ArrayContentProvider.getInstance());
        column(agents, tl, "Host", 12, o -> ((LabStatus.Agent) o).host()
                + (((LabStatus.Agent) o).rogue() ? " (rogue)" : ""));
        column(agents, tl, "Management API", 34, o -> ((LabStatus.Agent) o).api().toString());
        column(agents, tl, "Agent process", 16, o -> Long.toString(((LabStatus.Agent) o).pid()));
        column(agents, tl, "State", 38, o -> {
            LabStatus.Agent a = (LabStatus.Agent) o;
            return a.describe() + (a.rogue() ? ": its hypervisor build is not in the lab policy" : "");
        });
        Composite bar = new Composite(g, SWT.NONE);
        bar.setLayout(new GridLayout(3, false));
        attach = UiIds.tag(button(bar, "Attach / Start", this::attachOrStart), ATTACH);
        attach.setToolTipText("Connect the console to the lab running in this folder; start one here if none runs");
        reset = UiIds.tag(button(bar, "Reset", this::reset), RESET);
        reset.setToolTipText("Destroy every VM and create the demo VMs again: web-01, db-01 (protected process"
                + " vault) on h1, ci-runner on h2, rogue-01 on h4");
        button(bar, "Re-read", () -> background("Reading the lab folder", m -> lab.refresh()));
        message = UiIds.tag(new MessageLine(g), MESSAGE);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(message);
    }

    private void applyLab(LabStatus s) {
        labStatus = s;
        status.setText("Folder " + s.folder() + ": " + s.describe());
        agents.setInput(s.agents());
        if (!s.message().isEmpty()) {
            say(s.message(), s.state() == LabStatus.State.FAILED);
        }
        attach.setText(s.running() ? "Attach" : "Attach / Start");
        updateButtons();
        status.getParent().layout(true);
    }

    private void attachOrStart() {
        boolean running = labStatus != null && labStatus.running();
        say(running ? "Attaching to the lab\u2026" : "No lab runs in " + lab.current().folder()
                + ": starting one there (about a minute)\u2026", false);
        background(running ? "Attaching to the lab" : "Starting the lab", m -> {
            LabStatus s = lab.attachOrStart(m);
            return s;
        });
    }

    private void reset() {
        say("Resetting the lab: destroying every VM and creating the demo VMs\u2026", false);
        background("Resetting the lab", m -> {
            String done = lab.reset(m);
            return done;
        });
    }

    /** Blocking core work in a Job; its failure message goes to the message line. */
    private interface Work {
        Object run(org.eclipse.core.runtime.IProgressMonitor monitor) throws LabException;
    }

    private void background(String name, Work work) {
        busy = true;
        updateButtons();
        Job job = Job.create(name, m -> {
            try {
                work.run(m);
                return Status.OK_STATUS;
            } catch (LabException e) {
                return new Status(IStatus.ERROR, "org.sealift.console.ui", e.getMessage(), e);
            }
        });
        job.addJobChangeListener(new JobChangeAdapter() {
            @Override
            public void done(IJobChangeEvent event) {
                IStatus r = event.getResult();
                asyncIfAlive(() -> {
                    busy = false;
                    if (!r.isOK()) {
                        say(r.getMessage(), true);
                    }
                    updateButtons();
                });
            }
        });
        job.schedule();
    }

    private void updateButtons() {
        if (attach.isDisposed()) {
            return;
        }
        boolean running = labStatus != null && labStatus.running();
        attach.setEnabled(!busy);
        reset.setEnabled(!busy && running);
        run.setEnabled(!busy && selectedAttack() != null && vmTable.getSelectionIndex() >= 0
                && destinationTable.getSelectionIndex() >= 0 && !migrationRunning());
        for (Control child : stepsBox.getChildren()) {
            if (child instanceof Button b && b.getData() instanceof LabScenario.Step step) {
                b.setEnabled(stepEnabled(step, running));
            }
        }
    }

    private boolean stepEnabled(LabScenario.Step step, boolean running) {
        return switch (step.action()) {
            case RESET -> !busy && running;
            case MIGRATE -> !busy && !migrationRunning();
            case CANCEL -> trackedRun() != null && !trackedRun().isFinished();
            case CRASH_HOST -> !busy && running && labAgent(step.host()).map(a -> a.alive() || a.hypervisorAlive())
                    .orElse(false);
            case RESTART_HOST -> !busy && running && labAgent(step.host()).map(a -> !a.alive()
                    || !a.hypervisorAlive()).orElse(false);
            case OBSERVE -> false;
        };
    }

    private java.util.Optional<LabStatus.Agent> labAgent(String host) {
        return labStatus == null ? java.util.Optional.empty() : labStatus.agent(host);
    }

    // ---- attacks -----------------------------------------------------------------------------------------------

    private void createAttackGroup(Composite parent) {
        Group g = group(parent, "Inject an attack into the next migration", 2);
        GridDataFactory.fillDefaults().grab(true, true).hint(300, SWT.DEFAULT).applyTo(g);
        Composite table = new Composite(g, SWT.NONE);
        TableColumnLayout tl = new TableColumnLayout();
        table.setLayout(tl);
        GridDataFactory.fillDefaults().grab(true, true).span(2, 1).hint(SWT.DEFAULT, 170).applyTo(table);
        attacks = new TableViewer(table, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION);
        UiIds.tag(attacks.getTable(), ATTACKS);
        attacks.getTable().setHeaderVisible(true);
        attacks.getTable().setLinesVisible(true);
        attacks.setContentProvider(ArrayContentProvider.getInstance());
        column(attacks, tl, "Attack", 16, o -> ((LabAttack) o).label());
        column(attacks, tl, "What dom0 tries", 40, o -> ((LabAttack) o).tries());
        column(attacks, tl, "What should catch it", 44, o -> ((LabAttack) o).caughtBy());
        attacks.setInput(lab.attacks());
        attacks.getTable().addListener(SWT.MouseHover, e -> {
            var item = attacks.getTable().getItem(new org.eclipse.swt.graphics.Point(e.x, e.y));
            attacks.getTable().setToolTipText(item == null ? null : ((LabAttack) item.getData()).explain());
        });
        // the table cuts long sentences: the chosen attack's whole explanation wraps right below it
        attackDetail = UiIds.tag(new MessageLine(g), ATTACK_DETAIL);
        GridDataFactory.fillDefaults().grab(true, false).span(2, 1).applyTo(attackDetail);
        attackDetail.set("Pick an attack: what dom0 tries, and what should catch it.", null, null);
        attacks.addSelectionChangedListener(e -> {
            LabAttack a = selectedAttack();
            if (a != null) {
                attackDetail.set(a.explain() + (a.needsProtectedPages() ? " Needs a VM with a protected process"
                        + " (db-01)." : ""), null, null);
                relayout();
            }
            updateButtons();
        });
        // tables rather than drop-downs: every choice is visible at once and takes one click
        vmTable = choiceTable(g, VM, "VM (host)");
        destinationTable = choiceTable(g, DESTINATION, "Destination");
        new Label(g, SWT.NONE);
        run = UiIds.tag(button(g, "Migrate with this attack", this::runSelectedAttack), RUN);
        GridDataFactory.fillDefaults().align(SWT.END, SWT.CENTER).applyTo(run);
    }

    private Table choiceTable(Composite parent, String id, String title) {
        Table t = UiIds.tag(new Table(parent, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION), id);
        t.setHeaderVisible(true);
        TableColumn c = new TableColumn(t, SWT.NONE);
        c.setText(title);
        c.setWidth(240);
        GridDataFactory.fillDefaults().grab(true, false).hint(SWT.DEFAULT, 100).applyTo(t);
        t.addListener(SWT.Selection, e -> updateButtons());
        return t;
    }

    private LabAttack selectedAttack() {
        return (LabAttack) attacks.getStructuredSelection().getFirstElement();
    }

    private void applyInventory(InventorySnapshot s) {
        inv = s;
        // the lab needs every host's VM list (the tree loads them only when a host is opened)
        // (once per host while it stays reachable: a host whose VM list fails to load is not asked in a loop)
        for (HostNode h : s.hosts()) {
            if (!h.isReachable()) {
                vmsAsked.remove(h.hostId());
            } else if (s.vms(h.hostId()).isEmpty() && !s.loadingVms(h.hostId()) && vmsAsked.add(h.hostId())) {
                inventory.loadVms(h.hostId());
            }
        }
        VmNode vmBefore = vmTable.getSelectionIndex() >= 0 ? vmChoices.get(vmTable.getSelectionIndex()) : null;
        String dstBefore = destinationTable.getSelectionIndex() >= 0
                ? destinationChoices.get(destinationTable.getSelectionIndex()) : null;
        vmChoices.clear();
        destinationChoices.clear();
        for (HostNode h : s.hosts()) {
            destinationChoices.add(h.hostId());
            vmChoices.addAll(s.vms(h.hostId()).orElse(List.of()));
        }
        if (refreshedAfterEnd) {
            showTracked(); // a crash scenario's verdict counts the VM's running copies in the VM lists
        }
        fill(vmTable, vmChoices.stream().map(LabPart::vmLabel).toList());
        fill(destinationTable, destinationChoices.stream().map(h -> s.host(h).map(LabPart::hostLabel).orElse(h))
                .toList());
        if (vmBefore != null) {
            for (int i = 0; i < vmChoices.size(); i++) {
                if (vmChoices.get(i).name().equals(vmBefore.name()) && vmChoices.get(i).hostId().equals(
                        vmBefore.hostId())) {
                    vmTable.select(i);
                }
            }
        }
        if (dstBefore != null && destinationChoices.contains(dstBefore)) {
            destinationTable.select(destinationChoices.indexOf(dstBefore));
        }
        updateButtons();
    }

    private static void fill(Table t, List<String> rows) {
        if (t.getItemCount() == rows.size()) {
            boolean same = true;
            for (int i = 0; i < rows.size() && same; i++) {
                same = t.getItem(i).getText().equals(rows.get(i));
            }
            if (same) {
                return; // keeps the selection and avoids flicker on every inventory snapshot
            }
        }
        t.deselectAll();
        t.setItemCount(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            t.getItem(i).setText(rows.get(i));
        }
    }

    private static String vmLabel(VmNode v) {
        return v.name() + " on " + v.hostId() + (v.protectedProcesses() > 0 ? " (" + v.protectedProcesses()
                + " protected)" : "");
    }

    private static String hostLabel(HostNode h) {
        return h.hostId() + (h.isReachable() ? h.attested() ? "" : " (not attested)" : " (unreachable)");
    }

    private void runSelectedAttack() {
        LabAttack a = selectedAttack();
        if (a == null || vmTable.getSelectionIndex() < 0 || destinationTable.getSelectionIndex() < 0) {
            return;
        }
        VmNode vm = vmChoices.get(vmTable.getSelectionIndex());
        String to = destinationChoices.get(destinationTable.getSelectionIndex());
        if (a.needsProtectedPages() && vm.protectedProcesses() == 0) {
            say("'" + a.label() + "' works on sealed pages and " + vm.name() + " has no protected process: pick a VM"
                    + " with one (db-01 runs the protected process vault)", true);
            return;
        }
        if (to.equals(vm.hostId())) {
            say(vm.name() + " already runs on " + to + ": pick another destination", true);
            return;
        }
        start(vm, to, a, a.label(), 0, null);
    }

    /**
     * Starts a migration as the wizard does (a MigrationJob), with the attack injected; the monitor shows it.
     *
     * @param attack   the attack judged in the verdict, or null
     * @param inject   what the lab agents inject ("" for nothing; a scenario may hold a step without an attack)
     * @param scenario the scenario whose step this is, or null
     */
    private void start(VmNode vm, String to, LabAttack attack, String inject, int bandwidthMiBps,
            LabScenario scenario) {
        MigrationService service = context.get(MigrationService.class);
        if (service == null) {
            say("The console's agent client is not installed, so it cannot start migrations; run this one with"
                    + " 'sealift migrate --lab " + vm.name() + " --to " + to
                    + (inject.isEmpty() ? "" : " --inject " + inject) + "'", true);
            return;
        }
        MigrationOptions options = settings.current().defaults();
        if (options.mode() != MigrationMode.SECURE) {
            // every attack is against the secure protocol; plain mode has nothing to attack
            options = MigrationOptions.defaults(MigrationMode.SECURE).withMaxRounds(options.maxRounds())
                    .withDowntimeTargetMs(options.downtimeTargetMs());
        }
        if (bandwidthMiBps > 0) {
            options = options.withBandwidthMiBps(bandwidthMiBps);
        }
        MigrationRequest request = new MigrationRequest(vm.vmId(), vm.name(), vm.hostId(), to, options, inject);
        MigrationJob job = new MigrationJob(request, service, monitor);
        tracked = job;
        trackedAttack = attack;
        trackedStartError = null;
        trackedScenario = scenario;
        refreshedAfterEnd = false;
        job.addJobChangeListener(new JobChangeAdapter() {
            @Override
            public void done(IJobChangeEvent event) {
                if (job.migrationId() == null) {
                    String why = event.getResult().getMessage();
                    asyncIfAlive(() -> {
                        if (tracked == job) {
                            trackedStartError = why;
                            showTracked();
                        }
                    });
                }
            }
        });
        job.schedule();
        // the Migration Monitor shares this part's stack: switching to it would hide the verdict, so only say so
        setVerdict("Started: " + request.describe() + ". Waiting for the agents\u2026 (rounds and phases: Migration"
                + " Monitor)", null, null);
        anomalies.setText("");
        updateButtons();
    }

    private MigrationRun trackedRun() {
        MigrationJob j = tracked;
        String id = j == null ? null : j.migrationId();
        return id == null ? null : monitor.current().run(id).orElse(null);
    }

    private boolean migrationRunning() {
        MigrationRun r = trackedRun();
        return tracked != null && trackedStartError == null && (r == null ? tracked.getState() != Job.NONE
                : !r.isFinished());
    }

    // ---- verdict ------------------------------------------------------------------------------------------------

    private void createVerdictGroup(Composite c) {
        Group g = group(c, "Last lab migration", 1);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(g);
        verdict = UiIds.tag(new MessageLine(g), VERDICT);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(verdict);
        setVerdict("No lab migration yet: pick an attack, a VM and a destination, or follow a scenario.", null,
                null);
        anomalies = UiIds.tag(new Text(g, SWT.MULTI | SWT.READ_ONLY | SWT.WRAP | SWT.V_SCROLL | SWT.BORDER),
                ANOMALIES);
        GridDataFactory.fillDefaults().grab(true, true).hint(200, 64).applyTo(anomalies);
    }

    /** What the tracked migration shows now: its phase, then how it ended and whether the attack was caught. */
    private void showTracked() {
        if (verdict.isDisposed() || tracked == null) {
            return;
        }
        updateButtons();
        if (trackedStartError != null) {
            setVerdict("Not started: " + trackedStartError, images.get(ConsoleImages.Base.BLANK,
                    ConsoleImages.Badge.FAIL), colour(SWT.COLOR_DARK_RED));
            return;
        }
        MigrationRun r = trackedRun();
        if (r == null) {
            return;
        }
        List<String> reported = new ArrayList<>(r.anomalies());
        if (r.summary() != null) {
            reported.addAll(r.summary().anomalies());
        }
        List<String> notes = org.sealift.console.ui.monitor.OutcomeBanner.distinct(reported);
        String cancel = r.cancel() == CancelState.NONE ? "" : " Cancel: " + switch (r.cancel()) {
            case REQUESTED -> "asked\u2026";
            case ABORT_SENT -> "ABORT sent. " + r.cancelMessage();
            case REFUSED -> "refused: " + r.cancelMessage();
            default -> "";
        };
        String text = String.join("\n", notes);
        if (!text.equals(anomalies.getText())) {
            anomalies.setText(text);
        }
        if (!r.isFinished()) {
            setVerdict(r.title() + ": " + MigrationMonitorPart.state(r) + (trackedAttack == null ? ""
                    : ", attack '" + trackedAttack.label() + "' injected") + "." + cancel, null, null);
            return;
        }
        if (r.summary() == null) {
            return;
        }
        if (trackedScenario != null && trackedScenario.steps().stream().anyMatch(st -> st.action()
                == LabScenario.Action.CRASH_HOST)) {
            showCrashVerdict(r);
            return;
        }
        if (trackedAttack == null) {
            boolean moved = r.outcome().map(o -> o.movedToDestination()).orElse(false);
            // a commit, or the abort the person asked for, is what should have happened
            boolean asked = moved || r.cancel() == CancelState.ABORT_SENT;
            setVerdict(r.title() + " ended " + r.outcome().map(Object::toString).orElse("?") + " ("
                    + r.summary().reason() + "): " + (moved ? "the VM runs on " + r.request().destinationHostId()
                            : "the VM stays on " + r.request().sourceHostId()) + "." + cancel,
                    images.get(ConsoleImages.Base.BLANK, asked ? ConsoleImages.Badge.PASS : ConsoleImages.Badge.FAIL),
                    null);
            return;
        }
        LabVerdict v = trackedAttack.judge(r.summary().outcome(), r.summary().reason(), notes);
        setVerdict(v.headline() + cancel, images.get(ConsoleImages.Base.BLANK, v.caught() ? ConsoleImages.Badge.PASS
                : ConsoleImages.Badge.FAIL), colour(v.caught() ? SWT.COLOR_DARK_GREEN : SWT.COLOR_DARK_RED));
    }

    /**
     * A crash scenario's verdict: how the migration ended and where its VM runs now by the agents' own VM lists
     * (one copy is the point; none is what a crash after the destination resumed would leave).
     */
    private void showCrashVerdict(MigrationRun r) {
        if (!refreshedAfterEnd) {
            refreshedAfterEnd = true;
            inventory.refresh(); // the VM lists from before the end are stale: ask the agents again
            return;
        }
        String vm = r.request().vmName();
        for (HostNode h : inv.hosts()) {
            if (h.isReachable() && (inv.vms(h.hostId()).isEmpty() || inv.loadingVms(h.hostId()))) {
                setVerdict(r.title() + " ended " + r.outcome().map(Object::toString).orElse("?") + ": looking for the"
                        + " running copies of " + vm + " on every host\u2026", null, null);
                return; // a host whose VMs are not listed yet could hold a copy
            }
        }
        List<VmNode> copies = new ArrayList<>();
        for (HostNode h : inv.hosts()) {
            for (VmNode v : inv.vms(h.hostId()).orElse(List.of())) {
                if (v.name().equals(vm) && v.state() == org.sealift.console.core.inventory.VmState.RUNNING) {
                    copies.add(v);
                }
            }
        }
        String where = switch (copies.size()) {
            case 0 -> vm + " runs nowhere: its last copy was lost with a crashed host";
            case 1 -> vm + " runs on " + copies.get(0).hostId() + " only" + (copies.get(0).protectedProcesses() > 0
                    ? ", with its protected process" : "");
            default -> vm + " runs " + copies.size() + " times: on " + String.join(", ", copies.stream()
                    .map(VmNode::hostId).toList());
        };
        setVerdict(r.title() + " ended " + r.outcome().map(Object::toString).orElse("?") + " (" + r.summary()
                .reason() + "). " + where + ".", images.get(ConsoleImages.Base.BLANK, copies.size() == 1
                        ? ConsoleImages.Badge.PASS : ConsoleImages.Badge.FAIL),
                colour(copies.size() == 1 ? SWT.COLOR_DARK_GREEN : SWT.COLOR_DARK_RED));
    }

    // ---- scenarios ----------------------------------------------------------------------------------------------

    private void createScenarioGroup(Composite parent) {
        Group g = group(parent, "Guided scenarios", 1);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(g);
        scenarioCombo = UiIds.tag(new Combo(g, SWT.READ_ONLY), SCENARIO);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(scenarioCombo);
        List<LabScenario> all = lab.scenarios();
        scenarioCombo.setItems(all.stream().map(LabScenario::title).toArray(String[]::new));
        scenarioGoal = UiIds.tag(new Label(g, SWT.WRAP), SCENARIO_GOAL);
        GridDataFactory.fillDefaults().grab(true, false).hint(300, SWT.DEFAULT).applyTo(scenarioGoal);
        stepsBox = new Composite(g, SWT.NONE);
        stepsBox.setLayout(new GridLayout(3, false));
        GridDataFactory.fillDefaults().grab(true, false).applyTo(stepsBox);
        scenarioCombo.addListener(SWT.Selection, e -> showScenario(all.get(scenarioCombo.getSelectionIndex())));
        if (!all.isEmpty()) {
            scenarioCombo.select(0);
            showScenario(all.get(0));
        }
    }

    private void showScenario(LabScenario s) {
        shownScenario = s;
        scenarioGoal.setText(s.goal());
        for (Control child : stepsBox.getChildren()) {
            child.dispose();
        }
        int n = 1;
        for (LabScenario.Step step : s.steps()) {
            Label number = new Label(stepsBox, SWT.NONE);
            number.setText(n + ".");
            GridDataFactory.fillDefaults().align(SWT.BEGINNING, SWT.BEGINNING).applyTo(number);
            Label text = new Label(stepsBox, SWT.WRAP);
            text.setText(step.text());
            GridDataFactory.fillDefaults().grab(true, false).hint(220, SWT.DEFAULT).applyTo(text);
            String label = switch (step.action()) {
                case RESET -> "Reset";
                case MIGRATE -> "Start";
                case CANCEL -> "Cancel";
                case CRASH_HOST -> "Crash " + step.host();
                case RESTART_HOST -> "Restart " + step.host();
                case OBSERVE -> "";
            };
            if (label.isEmpty()) {
                new Label(stepsBox, SWT.NONE);
            } else {
                Button b = UiIds.tag(button(stepsBox, label, () -> perform(step)), STEP + n);
                b.setData(step);
                GridDataFactory.fillDefaults().align(SWT.FILL, SWT.BEGINNING).applyTo(b);
            }
            n++;
        }
        updateButtons();
        // another scenario has other sentences: the part's scrollable height must follow, or its last steps and
        // the verdict end up below the window with no scroll bar to reach them
        relayout();
    }

    private void perform(LabScenario.Step step) {
        switch (step.action()) {
            case RESET -> reset();
            case MIGRATE -> {
                VmNode vm = inv.vms(step.from()).orElse(List.of()).stream().filter(v -> v.name().equals(step.vm()))
                        .findFirst().orElse(null);
                if (vm == null) {
                    say("VM " + step.vm() + " is not listed on host " + step.from() + ": press Reset (step 1) to"
                            + " put the demo VMs back, and attach the console to the lab if the Inventory is empty",
                            true);
                    return;
                }
                // a hold for a crash exercise is no attack to judge: the scenario's own verdict applies
                LabAttack attack = step.attack().isEmpty() ? null : LabAttack.byLabel(step.attack()).orElse(null);
                start(vm, step.to(), attack, step.attack(), step.bandwidthMiBps(), shownScenario);
            }
            case CRASH_HOST -> {
                say("Crashing host " + step.host() + ": killing its agent and its hypervisor\u2026", false);
                background("Crashing host " + step.host(), m -> lab.crash(step.host(), true, m));
            }
            case RESTART_HOST -> {
                say("Restarting host " + step.host() + ": its hypervisor boots from its sealed state, then its"
                        + " agent starts (a minute on a busy machine)\u2026", false);
                background("Restarting host " + step.host(), m -> lab.restart(step.host(), m));
            }
            case CANCEL -> {
                MigrationRun r = trackedRun();
                if (r != null) {
                    monitor.requestCancel(r.migrationId());
                }
            }
            case OBSERVE -> {
            }
        }
    }

    // ---- small things -------------------------------------------------------------------------------------------

    private void say(String text, boolean problem) {
        if (message.isDisposed()) {
            return;
        }
        String before = message.getText();
        message.set(text, problem ? images.get(ConsoleImages.Base.BLANK, ConsoleImages.Badge.FAIL) : null,
                problem ? colour(SWT.COLOR_DARK_RED) : null);
        if (!before.equals(text)) {
            relayout();
        }
    }

    /** Wrapped sentences change height with their text: lay the whole part out again (only when a text changed). */
    private void relayout() {
        if (content == null || content.isDisposed()) {
            return; // still being built: the first layout comes at the end of createControls
        }
        content.layout(true, true);
        minSize();
    }

    /** Wrapped labels are as tall as the width makes them: the minimum height is taken at the width shown. */
    private void minSize() {
        int width = Math.max(760, scroll.getClientArea().width);
        scroll.setMinSize(760, content.computeSize(width, SWT.DEFAULT).y);
    }

    private void setVerdict(String text, org.eclipse.swt.graphics.Image icon, org.eclipse.swt.graphics.Color c) {
        boolean changed = !text.equals(verdict.getText());
        verdict.set(text, icon, c);
        if (changed) {
            relayout();
        }
    }

    private org.eclipse.swt.graphics.Color colour(int id) {
        return status.getDisplay().getSystemColor(id);
    }

    private void asyncIfAlive(Runnable r) {
        if (status.isDisposed()) {
            return;
        }
        status.getDisplay().asyncExec(() -> {
            if (!status.isDisposed()) {
                r.run();
            }
        });
    }

    private static Group group(Composite parent, String title, int columns) {
        Group g = new Group(parent, SWT.NONE);
        g.setText(title);
        g.setLayout(new GridLayout(columns, false));
        return g;
    }

    private static Button button(Composite parent, String text, Runnable action) {
        Button b = new Button(parent, SWT.PUSH);
        b.setText(text);
        b.addListener(SWT.Selection, e -> action.run());
        return b;
    }

    private static void column(TableViewer viewer, TableColumnLayout layout, String title, int weight,
            java.util.function.Function<Object, String> text) {
        TableViewerColumn c = new TableViewerColumn(viewer, SWT.NONE);
        c.getColumn().setText(title);
        layout.setColumnData(c.getColumn(), new ColumnWeightData(weight, 60));
        c.setLabelProvider(ColumnLabelProvider.createTextProvider(text::apply));
    }

    @Focus
    public void setFocus() {
        attacks.getControl().setFocus();
    }

    @PreDestroy
    public void dispose() {
        if (labListener != null) {
            lab.removeListener(labListener);
        }
        if (inventoryListener != null) {
            inventory.removeListener(inventoryListener);
        }
        if (monitorListener != null) {
            monitor.removeListener(monitorListener);
        }
        if (images != null) {
            images.dispose();
        }
    }
}
