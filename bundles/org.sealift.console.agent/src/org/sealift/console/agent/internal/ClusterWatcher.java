package org.sealift.console.agent.internal;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentMigrationService;
import org.sealift.console.agent.EventStream;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.migration.MigrationException;
import org.sealift.console.core.migration.MigrationHandle;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Keeps the console in step with migrations it did not start (the CLI, scripts, another console): follows every
 * connected agent's event stream, updates the inventory of a host when a migration there changes phase or ends, and
 * shows a migration someone else started in the Migration Monitor, followed on its source agent like one started
 * here (with a real cancel). Agents are watched as they appear in or leave the settings.
 */
@Component(service = ClusterWatcher.class, immediate = true)
public final class ClusterWatcher {

    private static final String TYPES = "phase,outcome";
    /** Waits this long after the first event of an unknown migration: a start from this console names it meanwhile. */
    private static final long ADOPT_AFTER_MILLIS = 1500;
    /** Events in a burst (phases a few ms apart) become one inventory update per host. */
    private static final long SETTLE_MILLIS = 250;
    private static final long RETRY_MILLIS = 3000;

    private AgentDirectory directory;
    private AgentMigrationService migrations;
    private MigrationMonitorService monitor;
    private InventoryService inventory;

    private ScheduledExecutorService timer;
    private final Map<String, Follower> followers = new HashMap<>();
    private final Set<String> pendingHosts = ConcurrentHashMap.newKeySet();
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    /** For DS. */
    public ClusterWatcher() {
    }

    /** For tests and consoles wired by hand; call {@link #activate()} to start. */
    public ClusterWatcher(AgentDirectory directory, AgentMigrationService migrations, MigrationMonitorService monitor,
            InventoryService inventory) {
        this.directory = directory;
        this.migrations = migrations;
        this.monitor = monitor;
        this.inventory = inventory;
    }

    @Reference
    void bindDirectory(AgentDirectory d) {
        directory = d;
    }

    @Reference
    void bindMigrations(AgentMigrationService m) {
        migrations = m;
    }

    @Reference
    void bindMonitor(MigrationMonitorService m) {
        monitor = m;
    }

    @Reference
    void bindInventory(InventoryService i) {
        inventory = i;
    }

    @Activate
    public synchronized void activate() {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sealift-cluster-watcher");
            t.setDaemon(true);
            return t;
        });
        // the agent list lives in the settings: pick up agents added or removed there
        timer.scheduleWithFixedDelay(this::reconcile, 0, 5, TimeUnit.SECONDS);
    }

    @Deactivate
    public synchronized void deactivate() {
        if (timer != null) {
            timer.shutdownNow();
        }
        followers.values().forEach(Follower::stop);
        followers.clear();
    }

    /** How many agents' event streams are open now. */
    public synchronized int watching() {
        return (int) followers.values().stream().filter(f -> f.connected).count();
    }

    private synchronized void reconcile() {
        Map<String, AgentRef> now = new HashMap<>();
        for (AgentRef a : directory.agents()) {
            now.putIfAbsent(a.name() + " " + a.address(), a);
        }
        for (String key : new HashSet<>(followers.keySet())) {
            if (!now.containsKey(key)) {
                followers.remove(key).stop();
            }
        }
        now.forEach((key, agent) -> followers.computeIfAbsent(key, k -> new Follower(agent)).start());
    }

    private void onEvent(AgentRef agent, EventStream.Event e) {
        JsonNode d = e.data();
        String host = d.path("host").asText(agent.name());
        hostChanged(host);
        if (e.type().equals("outcome")) {
            // an outcome names both ends: the destination's inventory changes too (it may not be watched)
            hostChanged(d.path("source").asText(host));
            hostChanged(d.path("destination").asText(host));
            return;
        }
        String id = d.path("migrationId").asText("");
        if (e.type().equals("phase") && "source".equals(d.path("role").asText()) && !id.isEmpty()
                && seen.add(id)) {
            long after = e.id() - 1;
            timer.schedule(() -> adopt(agent, id, after), ADOPT_AFTER_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void hostChanged(String host) {
        if (host.isEmpty() || !pendingHosts.add(host)) {
            return;
        }
        timer.schedule(() -> {
            pendingHosts.remove(host);
            inventory.hostChanged(host);
        }, SETTLE_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Shows a migration started elsewhere in the monitor, unless this console started it or knows it already. */
    private void adopt(AgentRef agent, String id, long afterEventId) {
        if (migrations.startedHere(id) || monitor.current().run(id).isPresent()) {
            return;
        }
        JsonNode status;
        try {
            status = directory.api(agent).get("/v1/migrations/" + id);
        } catch (AgentException e) {
            return; // the agent went away meanwhile: its stream reconnects, the outcome will come with it
        }
        String vm = status.path("vm").asText(id);
        MigrationMode mode = MigrationMode.parse(status.path("mode").asText("secure"));
        MigrationRequest request = new MigrationRequest(vm, vm, status.path("source").asText(agent.name()),
                status.path("destination").asText("?"), MigrationOptions.defaults(mode));
        AtomicReference<MigrationHandle> handle = new AtomicReference<>();
        monitor.register(id, request, () -> {
            MigrationHandle h = handle.get();
            if (h != null) {
                org.sealift.console.core.migration.CancelResult r = h.cancel();
                monitor.cancelAnswered(id, r.abortSent(), r.message());
            }
        });
        try {
            handle.set(migrations.follow(request, id, afterEventId, monitor::accept, monitor::accept));
        } catch (MigrationException e) {
            monitor.startFailed(request, "cannot follow migration " + id + " started elsewhere: " + e.getMessage());
        }
    }

    /** One agent's event stream, read on its own thread; reconnects quietly after the agent's retry delay. */
    private final class Follower {
        private final AgentRef agent;
        private Thread thread;
        private volatile boolean stopped;
        private volatile EventStream stream;
        private volatile boolean connected;
        private long lastEventId = -1;

        Follower(AgentRef agent) {
            this.agent = agent;
        }

        void start() {
            if (thread == null) {
                thread = new Thread(this::run, "sealift-watch-" + agent.name());
                thread.setDaemon(true);
                thread.start();
            }
        }

        void stop() {
            stopped = true;
            EventStream s = stream;
            if (s != null) {
                s.close();
            }
            if (thread != null) {
                thread.interrupt();
            }
        }

        private void run() {
            while (!stopped) {
                try {
                    AgentApi api = directory.api(agent);
                    stream = api.events(TYPES, lastEventId);
                    connected = true;
                    while (!stopped) {
                        Optional<EventStream.Event> e = stream.next();
                        if (e.isEmpty()) {
                            break; // the agent ended the stream (it is stopping): ask again later
                        }
                        if (e.get().id() >= 0) {
                            lastEventId = e.get().id();
                        }
                        try {
                            onEvent(agent, e.get());
                        } catch (RuntimeException unreadable) {
                            // one event this console cannot read must not stop it from watching the agent
                        }
                    }
                } catch (AgentException | IOException e) {
                    // unreachable agents are shown by the inventory; keep trying quietly
                } finally {
                    connected = false;
                    EventStream s = stream;
                    if (s != null) {
                        s.close();
                    }
                }
                try {
                    Thread.sleep(RETRY_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
