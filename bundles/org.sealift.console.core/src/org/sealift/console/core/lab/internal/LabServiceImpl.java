package org.sealift.console.core.lab.internal;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.SubMonitor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import com.fasterxml.jackson.databind.JsonNode;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.lab.LabAttack;
import org.sealift.console.core.lab.LabException;
import org.sealift.console.core.lab.LabScenario;
import org.sealift.console.core.lab.LabService;
import org.sealift.console.core.lab.LabStatus;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsService;

/**
 * The lab service over the lab folder: reads lab.json, starts {@code ClientMain lab --no-console} from the agent jar
 * when no lab runs there (never a second one: a lab whose owner process is alive is only attached to), and resets
 * the demo VMs through the agents' management API. A lab this console started is stopped when the console stops.
 */
@Component(service = LabService.class)
public final class LabServiceImpl implements LabService {

    /** System property and environment variable naming the lab folder (the agent's LabInfo uses the variable). */
    public static final String DIR_PROPERTY = "sealift.lab.dir";
    public static final String DIR_ENV = "SEALIFT_LAB_DIR";
    /** System property and environment variable naming the agent jar ('sealift lab' exports the variable). */
    public static final String JAR_PROPERTY = "sealift.agent.jar";
    public static final String JAR_ENV = "SEALIFT_AGENT_JAR";

    private static final String LAB_MAIN = "org.sealift.agent.cli.ClientMain";
    private static final long START_LIMIT_MILLIS = TimeUnit.MINUTES.toMillis(5);

    private final List<Consumer<LabStatus>> listeners = new CopyOnWriteArrayList<>();
    private final Object startLock = new Object();
    private Path folder;
    private Path agentJar;
    private volatile SettingsService settings;
    private volatile InventoryService inventory;
    private volatile LabStatus status;
    private volatile Process started;
    private volatile boolean attached;

    /** For DS: the folder and jar come from system properties or the environment 'sealift lab' sets. */
    public LabServiceImpl() {
        this(defaultFolder(), null);
    }

    /**
     * For tests and consoles wired by hand.
     *
     * @param agentJar the agent jar to start a lab from, or null to look for it as the product does
     */
    public LabServiceImpl(Path folder, Path agentJar) {
        this.folder = folder.toAbsolutePath().normalize();
        this.agentJar = agentJar;
        this.status = LabStatus.none(this.folder, "");
    }

    @Reference
    public void bindSettings(SettingsService s) {
        settings = s;
    }

    void unbindSettings(SettingsService s) {
        if (settings == s) {
            settings = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    public void bindInventory(InventoryService i) {
        inventory = i;
    }

    void unbindInventory(InventoryService i) {
        if (inventory == i) {
            inventory = null;
        }
    }

    /** $SEALIFT_LAB_DIR (or -Dsealift.lab.dir), else ./.sealift/lab, as the agent's lab command decides. */
    public static Path defaultFolder() {
        String p = System.getProperty(DIR_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(DIR_ENV);
        }
        return (p != null && !p.isBlank() ? Path.of(p) : Path.of(".sealift", "lab")).toAbsolutePath().normalize();
    }

    // ---- status --------------------------------------------------------------------------------------------------

    @Override
    public LabStatus current() {
        return status;
    }

    @Override
    public void addListener(Consumer<LabStatus> listener) {
        listeners.add(listener);
        listener.accept(status);
    }

    @Override
    public void removeListener(Consumer<LabStatus> listener) {
        listeners.remove(listener);
    }

    private LabStatus publish(LabStatus s) {
        status = s;
        for (Consumer<LabStatus> l : listeners) {
            l.accept(s);
        }
        return s;
    }

    @Override
    public LabStatus refresh() {
        return publish(read(status.message()));
    }

    private LabStatus read(String message) {
        LabFile f;
        try {
            f = LabFile.read(folder).orElse(null);
        } catch (IOException e) {
            return new LabStatus(folder, LabStatus.State.FAILED, 0, false, false, List.of(), null, null, null, null,
                    null, e.getMessage());
        }
        Process mine = started;
        if (f == null) {
            if (mine != null && mine.isAlive()) {
                return new LabStatus(folder, LabStatus.State.STARTING, mine.pid(), true, false, List.of(), null, null,
                        null, null, null, message);
            }
            return LabStatus.none(folder, message);
        }
        boolean alive = LabFile.alive(f.labPid());
        LabStatus.State state = alive ? LabStatus.State.RUNNING : LabStatus.State.STALE;
        boolean ours = mine != null && mine.pid() == f.labPid();
        return new LabStatus(folder, state, f.labPid(), ours, alive && attached, f.statusAgents(), f.operatorCert(),
                f.operatorKey(), f.clusterCa(), f.trust(), f.policy(), message);
    }

    // ---- attach or start -----------------------------------------------------------------------------------------

    @Override
    public LabStatus attachOrStart(IProgressMonitor monitor) throws LabException {
        SubMonitor sub = SubMonitor.convert(monitor, "Attaching to the lab in " + folder, 10);
        LabStatus s = read("");
        if (!s.running()) {
            start(sub.split(9));
            s = read("");
            if (!s.running()) {
                throw fail(s.state() == LabStatus.State.FAILED ? s.message() : "the lab in " + folder
                        + " reported ready but its lab.json names no live process; see " + log("err"));
            }
        }
        sub.setWorkRemaining(1);
        sub.subTask("pointing the console at the lab's agents");
        attach(s);
        attached = true;
        InventoryService inv = inventory;
        if (inv != null) {
            inv.refresh();
        }
        return publish(read("attached to the lab in " + folder + ": " + s.agents().size() + " agents ("
                + String.join(", ", s.agents().stream().map(LabStatus.Agent::host).toList()) + ")"));
    }

    private LabException fail(String message) {
        publish(read(message).withState(LabStatus.State.FAILED, message));
        return new LabException(message);
    }

    /**
     * The console settings get the lab's agents, operator identity and trust; the migration defaults stay. Nothing
     * is written when the console already takes its agents from this lab's lab.json ({@code sealift lab} starts it
     * so): the saved settings would outlive the lab and point at its ports after it stopped.
     */
    private void attach(LabStatus s) throws LabException {
        SettingsService set = settings;
        if (set == null) {
            throw new LabException("the console settings service is not running, so the lab's agents cannot be"
                    + " added; restart the console");
        }
        if (set.lab().map(l -> l.dir().toAbsolutePath().normalize().equals(folder)).orElse(false)) {
            return;
        }
        List<AgentRef> agents = new ArrayList<>();
        for (LabStatus.Agent a : s.agents()) {
            agents.add(new AgentRef(a.host(), a.api()));
        }
        ConsoleSettings old = set.current();
        Path aks = Files.isDirectory(folder.resolve("hosts")) ? folder.resolve("hosts") : old.akCertificates();
        ConsoleSettings next = new ConsoleSettings(agents, s.operatorCert(), s.operatorKey(), s.trust(), s.policy(),
                aks, old.defaults());
        if (next.equals(old)) {
            return;
        }
        try {
            set.save(next);
        } catch (IOException e) {
            throw new LabException("cannot write the lab's agents into the console settings " + set.file() + ": "
                    + e.getMessage() + "; check that the folder is writable", e);
        }
    }

    private void start(IProgressMonitor monitor) throws LabException {
        synchronized (startLock) {
            LabStatus s = read("");
            if (s.running()) {
                return; // someone started it meanwhile: attach to that one, never a second
            }
            Path jar = findAgentJar();
            Path out = log("out");
            Path err = log("err");
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    jar.toString(), LAB_MAIN, "lab", "--no-console", "--dir", folder.toString());
            Process p;
            try {
                Files.createDirectories(folder);
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(
                        new File("/dev/null"))).redirectOutput(out.toFile()).redirectError(err.toFile());
                pb.environment().put(DIR_ENV, folder.toString());
                p = pb.start();
            } catch (IOException e) {
                throw fail("cannot start the lab (" + String.join(" ", cmd) + "): " + e.getMessage());
            }
            started = p;
            publish(read("starting a lab in " + folder + " (process " + p.pid() + "; this takes a minute)"));
            SubMonitor sub = SubMonitor.convert(monitor, "Starting the lab in " + folder, 100);
            long end = System.currentTimeMillis() + START_LIMIT_MILLIS;
            int worked = 0;
            while (true) {
                if (readyLine(out)) {
                    break;
                }
                if (!p.isAlive()) {
                    if (readyLine(out)) {
                        break; // another console's or a shell's lab won the race: LabCommand attached to it
                    }
                    started = null;
                    throw fail("the lab did not start (exit " + p.exitValue() + "): " + tail(err)
                            + "; full output in " + err);
                }
                if (sub.isCanceled() || System.currentTimeMillis() > end) {
                    boolean cancelled = sub.isCanceled();
                    stopStarted();
                    throw fail(cancelled ? "starting the lab was cancelled; the half-started lab was stopped again"
                            : "the lab did not report ready within 5 minutes; it was stopped again. Its output: "
                                    + tail(err));
                }
                if (worked < 95) {
                    sub.worked(1);
                    worked++;
                }
                sub.subTask(lastLine(err));
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stopStarted();
                    throw fail("interrupted while the lab was starting; it was stopped again");
                }
            }
            if (!p.isAlive()) {
                started = null;
            }
        }
    }

    private Path log(String kind) {
        Path parent = folder.getParent() == null ? folder : folder.getParent();
        return parent.resolve(folder.getFileName() + "-console." + kind);
    }

    private static boolean readyLine(Path out) {
        try {
            return Files.readAllLines(out, StandardCharsets.UTF_8).stream().anyMatch(l -> l.startsWith("lab ready"));
        } catch (IOException e) {
            return false;
        }
    }

    private static String lastLine(Path f) {
        try {
            List<String> l = Files.readAllLines(f, StandardCharsets.UTF_8);
            return l.isEmpty() ? "" : l.get(l.size() - 1);
        } catch (IOException e) {
            return "";
        }
    }

    private static String tail(Path f) {
        try {
            List<String> l = Files.readAllLines(f, StandardCharsets.UTF_8);
            return String.join(" | ", l.subList(Math.max(0, l.size() - 4), l.size()));
        } catch (IOException e) {
            return "(no output)";
        }
    }

    /** The agent jar: -Dsealift.agent.jar, $SEALIFT_AGENT_JAR, else the build folder of the tree the lab is in. */
    Path findAgentJar() throws LabException {
        List<Path> candidates = new ArrayList<>();
        if (agentJar != null) {
            candidates.add(agentJar);
        }
        String p = System.getProperty(JAR_PROPERTY);
        if (p != null && !p.isBlank()) {
            candidates.add(Path.of(p));
        }
        String e = System.getenv(JAR_ENV);
        if (e != null && !e.isBlank()) {
            candidates.add(Path.of(e));
        }
        // the lab folder is <tree>/.sealift/lab when 'sealift lab' chose it
        Path tree = folder.getParent() == null ? null : folder.getParent().getParent();
        if (tree != null) {
            candidates.add(tree.resolve("hypervisor-agent/target/sealift-agent.jar"));
        }
        candidates.add(Path.of(System.getProperty("user.dir"), "hypervisor-agent/target/sealift-agent.jar"));
        for (Path c : candidates) {
            if (Files.isRegularFile(c)) {
                return c;
            }
        }
        throw fail("no lab runs in " + folder + " and the agent jar that starts one was not found (looked at "
                + candidates + "); start the lab with './sealift lab', or set " + JAR_ENV
                + " to hypervisor-agent/target/sealift-agent.jar");
    }

    /** Stops a lab this console started (SIGTERM: the lab stops its agents and hypervisors itself). */
    private void stopStarted() {
        Process p = started;
        started = null;
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Deactivate
    public void deactivate() {
        stopStarted();
    }

    // ---- reset ---------------------------------------------------------------------------------------------------

    @Override
    public String reset(IProgressMonitor monitor) throws LabException {
        LabStatus s = read("");
        if (!s.running()) {
            throw new LabException(s.describe() + ": press Attach / Start first");
        }
        SubMonitor sub = SubMonitor.convert(monitor, "Resetting the lab", s.agents().size() * 3 + 1);
        Map<String, LabAgentClient> clients = new LinkedHashMap<>();
        for (LabStatus.Agent a : s.agents()) {
            if (!a.alive()) {
                throw new LabException("the agent of lab host " + a.host() + " (process " + a.pid() + ") is not"
                        + " running: stop the lab ('sealift lab --stop') and start it again");
            }
            clients.put(a.host(), new LabAgentClient(a.host(), a.api(), s.operatorCert(), s.operatorKey(),
                    s.clusterCa()));
        }
        // a VM that a migration holds cannot be destroyed: say which migration first, before anything changes
        for (Map.Entry<String, LabAgentClient> c : clients.entrySet()) {
            sub.subTask("looking for running migrations on " + c.getKey());
            for (com.fasterxml.jackson.databind.JsonNode m : c.getValue().get("/v1/migrations?limit=20")) {
                String state = m.path("state").asText();
                if ("running".equals(state) || "finishing".equals(state) || "in_doubt".equals(state)) {
                    throw new LabException("migration " + m.path("id").asText() + " of VM " + m.path("vm").asText()
                            + " (" + m.path("source").asText() + " \u2192 " + m.path("destination").asText()
                            + ") is " + state.replace('_', ' ') + " on " + c.getKey()
                            + ": wait for it to end (or cancel it in the Migration Monitor), then reset");
                }
            }
            sub.worked(1);
        }
        int removed = 0;
        for (Map.Entry<String, LabAgentClient> c : clients.entrySet()) {
            sub.subTask("destroying the VMs on " + c.getKey());
            for (com.fasterxml.jackson.databind.JsonNode vm : c.getValue().get("/v1/vms")) {
                String name = LabAgentClient.text(vm, "name", "VM");
                try {
                    c.getValue().delete("/v1/vms/" + LabAgentClient.segment(name));
                    removed++;
                } catch (LabAgentClient.ApiError e) {
                    if (e.status != 404) {
                        throw e;
                    }
                }
            }
            sub.worked(1);
        }
        List<String> made = new ArrayList<>();
        for (LabStatus.Agent a : s.agents()) {
            sub.subTask("creating the demo VMs on " + a.host());
            for (Map<String, Object> body : DemoVms.of(a.host(), a.rogue())) {
                clients.get(a.host()).post("/v1/vms", body);
                made.add(body.get("name") + " on " + a.host());
            }
            sub.worked(1);
        }
        InventoryService inv = inventory;
        if (inv != null) {
            inv.refresh();
        }
        String done = "lab reset: " + removed + " VM" + (removed == 1 ? "" : "s") + " destroyed; running now: "
                + String.join(", ", made);
        publish(read(done));
        return done;
    }

    // ---- crash and restart ------------------------------------------------------------------------------------

    @Override
    public String crash(String host, boolean wholeHost, IProgressMonitor monitor) throws LabException {
        SubMonitor sub = SubMonitor.convert(monitor, (wholeHost ? "Crashing host " : "Crashing the agent of ")
                + host, 1);
        JsonNode answer = control().post("/v1/lab/hosts/" + LabAgentClient.segment(host) + (wholeHost ? "/crash"
                : "/crash-agent"), Map.of());
        sub.worked(1);
        return changed(LabAgentClient.text(answer, "message", "lab control answer"), false);
    }

    @Override
    public String restart(String host, IProgressMonitor monitor) throws LabException {
        SubMonitor sub = SubMonitor.convert(monitor, "Restarting host " + host + " (its hypervisor and agent)", 1);
        JsonNode answer = control().post("/v1/lab/hosts/" + LabAgentClient.segment(host) + "/restart", Map.of());
        sub.worked(1);
        return changed(LabAgentClient.text(answer, "message", "lab control answer"), true);
    }

    /** A client of the running lab's control API, with the lab operator's certificate. */
    private LabAgentClient control() throws LabException {
        LabStatus s = read("");
        if (!s.running()) {
            throw new LabException(s.describe() + ": press Attach / Start first");
        }
        LabFile f;
        try {
            f = LabFile.read(folder).orElseThrow(() -> new IOException("lab.json is gone"));
        } catch (IOException e) {
            throw new LabException("cannot read the lab description in " + folder + ": " + e.getMessage(), e);
        }
        if (f.control() == null) {
            throw new LabException("the lab in " + folder + " has no control API (it was started by an older"
                    + " 'sealift lab'), so the console cannot crash its hosts: stop it with 'sealift lab --stop' and"
                    + " start it again");
        }
        return new LabAgentClient(LabAgentClient.CONTROL, f.control(), s.operatorCert(), s.operatorKey(),
                s.clusterCa(), java.time.Duration.ofMinutes(10));
    }

    /**
     * After a crash or restart: the new processes are in lab.json; a restarted agent normally keeps its address,
     * but if it had to take a new one the console's saved agents follow. The inventory is asked again.
     */
    private String changed(String message, boolean restarted) throws LabException {
        LabStatus s = read(message);
        if (restarted && attached && s.running()) {
            attach(s);
        }
        InventoryService inv = inventory;
        if (inv != null) {
            inv.refresh();
        }
        publish(s);
        return message;
    }

    @Override
    public List<LabAttack> attacks() {
        return LabAttack.all();
    }

    @Override
    public List<LabScenario> scenarios() {
        return LabScenario.all();
    }
}
