package org.sealift.console.agent;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.SubMonitor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.migration.CancelResult;
import org.sealift.console.core.migration.CheckResult;
import org.sealift.console.core.migration.MigrationException;
import org.sealift.console.core.migration.MigrationHandle;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.model.RoundStats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Migrations through the source host's agent: {@code POST /v1/migrations}, its event stream ({@code GET /v1/events},
 * subscribed before the request so that nothing is missed) turned into {@link MigrationEvent}s in the order the
 * agent sent them and ending with {@code Finished}, and {@code POST /v1/migrations/{id}/cancel}, which is a real
 * ABORT before RELEASE and the agent's refusal, with its reason, after.
 *
 * <p>Also registered under its own class for the lab, which starts migrations with an attack ({@code inject}).
 */
@Component(service = {MigrationService.class, AgentMigrationService.class})
public final class AgentMigrationService implements MigrationService {

    private static final String TYPES = "phase,round,anomaly,outcome";
    /** The agent asks clients to wait this long before reconnecting ("retry: 3000"). */
    private static final long RETRY_MILLIS = 3000;

    private AgentDirectory directory;
    /** Migrations this console started (the cluster watcher follows the others). */
    private final java.util.Set<String> startedHere = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** For DS. */
    public AgentMigrationService() {
    }

    public AgentMigrationService(AgentDirectory directory) {
        this.directory = directory;
    }

    @Reference
    void bindDirectory(AgentDirectory d) {
        directory = d;
    }

    // ---- pre-flight ---------------------------------------------------------------------------------------------

    /**
     * What the agents can tell before anything starts: both agents answer, the VM is on the source and free to move,
     * the destination is attested, healthy, has the memory and no VM of that name. The management API has no dry run
     * of the handshake; the hypervisors check attestation and policy again when the migration starts, and a refusal
     * then changes nothing (docs/api.md §2).
     */
    @Override
    public List<CheckResult> preflight(MigrationRequest request, IProgressMonitor monitor) throws MigrationException {
        SubMonitor sub = SubMonitor.convert(monitor, "Asking the agents", 4);
        List<CheckResult> out = new ArrayList<>();
        String src = request.sourceHostId();
        String dst = request.destinationHostId();
        String vm = request.vmName();

        sub.subTask("agent " + src);
        JsonNode vmView = null;
        try {
            AgentApi api = directory.api(src);
            JsonNode host = api.get("/v1/host");
            String health = host.path("health").path("status").asText("");
            out.add("down".equals(health)
                    ? CheckResult.fail("source agent", "host " + src + " is down: " + problems(host))
                    : CheckResult.pass("source agent", api.describe() + " answers (health " + health + ")"));
            vmView = api.get("/v1/vms/" + request.vmId());
        } catch (AgentRefusedException e) {
            out.add(CheckResult.fail("VM at the source", e.getMessage()));
        } catch (AgentException e) {
            out.add(CheckResult.fail("source agent", e.getMessage()));
        }
        sub.worked(1);
        checkCanceled(sub);

        if (vmView != null) {
            String state = vmView.path("state").asText("");
            int protectedProcesses = vmView.path("protectedProcesses").size();
            if (vmView.hasNonNull("migration")) {
                out.add(CheckResult.fail("VM at the source", "VM " + vm + " is already in migration "
                        + vmView.path("migration").asText() + ": one migration of a VM at a time; wait for it or"
                        + " cancel it"));
            } else if (!state.equals("RUNNING") && !state.equals("PAUSED")) {
                out.add(CheckResult.fail("VM at the source", "VM " + vm + " is " + state.toLowerCase(Locale.ROOT)
                        + " on host " + src + ": only a running or paused VM can be migrated; refresh the"
                        + " inventory"));
            } else if (request.options().mode() == MigrationMode.PLAIN && protectedProcesses > 0) {
                out.add(CheckResult.fail("VM at the source", "VM " + vm + " has " + protectedProcesses
                        + " protected process(es): the hypervisor of " + src + " refuses plain mode for it; use"
                        + " secure mode"));
            } else {
                out.add(CheckResult.pass("VM at the source", "VM " + vm + " is " + state.toLowerCase(Locale.ROOT)
                        + " on host " + src + " (" + vmView.path("memoryMiB").asLong() + " MiB, "
                        + protectedProcesses + " protected process" + (protectedProcesses == 1 ? "" : "es") + ")"));
            }
        }
        sub.worked(1);
        checkCanceled(sub);

        sub.subTask("agent " + dst);
        try {
            AgentApi api = directory.api(dst);
            JsonNode host = api.get("/v1/host");
            boolean attested = host.path("attested").asBoolean(false);
            String health = host.path("health").path("status").asText("");
            if (!attested && request.options().mode() == MigrationMode.SECURE) {
                out.add(CheckResult.fail("destination agent", "host " + dst + " is not attested: "
                        + problems(host)));
            } else if ("down".equals(health)) {
                out.add(CheckResult.fail("destination agent", "host " + dst + " is down: " + problems(host)));
            } else {
                out.add(health.equals("ok") ? CheckResult.pass("destination agent", api.describe()
                        + " answers; host " + dst + (attested ? " is attested" : " is not attested (plain mode)"))
                        : CheckResult.warn("destination agent", "host " + dst + " reports health '" + health
                                + "': " + problems(host)));
            }
            long free = host.path("capacity").path("freeMemoryMiB").asLong(-1);
            long need = vmView == null ? 0 : vmView.path("memoryMiB").asLong();
            if (vmView != null && free >= 0 && free < need) {
                out.add(CheckResult.fail("destination memory", "host " + dst + " has " + free + " MiB free, VM " + vm
                        + " needs " + need + " MiB: free memory on " + dst + " or pick another host"));
            }
            sub.worked(1);
            for (JsonNode v : api.get("/v1/vms")) {
                if (v.path("name").asText().equals(request.vmId())) {
                    out.add(CheckResult.fail("destination VMs", "host " + dst + " already has a VM named " + vm
                            + " (" + v.path("state").asText().toLowerCase(Locale.ROOT) + "): its hypervisor would"
                            + " refuse the incoming one; remove it there first"));
                }
            }
        } catch (AgentException e) {
            out.add(CheckResult.fail("destination agent", e.getMessage()));
        }
        sub.worked(1);
        out.add(CheckResult.warn("agents' dry run", "the agents offer no dry run of the handshake: the hypervisors"
                + " check attestation and policy when the migration starts, and a refusal then changes nothing"));
        return out;
    }

    private static String problems(JsonNode host) {
        List<String> p = new ArrayList<>();
        host.path("health").path("problems").forEach(n -> p.add(n.asText()));
        return p.isEmpty() ? "(no reason given)" : String.join("; ", p);
    }

    private static void checkCanceled(IProgressMonitor m) {
        if (m.isCanceled()) {
            throw new org.eclipse.core.runtime.OperationCanceledException("pre-flight checks cancelled");
        }
    }

    // ---- start, events, cancel ----------------------------------------------------------------------------------

    @Override
    public MigrationHandle start(MigrationRequest request, Consumer<MigrationEvent> events)
            throws MigrationException {
        // a request the lab filled carries its attack: starting it without would run (and commit) a clean migration
        return start(request, request.inject(), events);
    }

    /**
     * Starts a migration; with {@code inject}, a lab agent plays the malicious dom0 of that attack (docs/api.md,
     * fault injection; only agents with allow-fault-injection accept it).
     */
    @Override
    public MigrationHandle start(MigrationRequest request, String inject, Consumer<MigrationEvent> events)
            throws MigrationException {
        AgentApi api;
        try {
            api = directory.api(request.sourceHostId());
        } catch (AgentException e) {
            throw new MigrationException(e.getMessage(), e);
        }
        EventStream stream;
        try {
            stream = api.events(TYPES, -1);
        } catch (AgentException e) {
            throw new MigrationException(e.getMessage(), e);
        }
        ObjectNode body = AgentApi.MAPPER.createObjectNode();
        body.put("vm", request.vmId());
        body.put("to", request.destinationHostId());
        body.put("mode", request.options().mode().toString());
        body.put("maxRounds", request.options().maxRounds());
        body.put("downtimeMs", request.options().downtimeTargetMs());
        body.put("bandwidthMiBps", request.options().bandwidthMiBps());
        if (inject != null && !inject.isBlank()) {
            body.put("inject", inject);
        }
        JsonNode view;
        try {
            view = api.post("/v1/migrations", body);
        } catch (AgentException e) {
            stream.close();
            throw new MigrationException(e.getMessage(), e);
        }
        String id = view.path("id").asText("");
        if (id.isEmpty()) {
            stream.close();
            throw new MigrationException(api.describe() + " accepted the migration of " + request.vmName()
                    + " but named no migration id; its answer was " + view);
        }
        startedHere.add(id);
        return followOn(new Run(directory, api, id, request, stream, events));
    }

    private static Run followOn(Run run) {
        Thread t = new Thread(run::follow, "sealift-migration-" + run.id.substring(0, Math.min(8, run.id.length())));
        t.setDaemon(true);
        t.start();
        return run;
    }

    /** True for a migration this console started (through {@link #start}). */
    public boolean startedHere(String migrationId) {
        return startedHere.contains(migrationId);
    }

    /**
     * Follows a migration someone else started (the CLI, a script, another console) on its source agent's event
     * stream, replaying from after event {@code afterEventId}, exactly as one started here is followed; a migration
     * that has already ended is delivered at once from its status.
     */
    public MigrationHandle follow(MigrationRequest request, String migrationId, long afterEventId,
            Consumer<MigrationEvent> events) throws MigrationException {
        return follow(request, migrationId, afterEventId, events, null);
    }

    /**
     * As {@link #follow(MigrationRequest, String, long, Consumer)}, and delivers each event that carries the time the
     * agent saw it (the events' {@code at}, the outcome's {@code finishedAt}) to {@code timed} with that time: a
     * replay arrives in a burst, and a timeline drawn from arrival times would squeeze the whole migration into it.
     */
    public MigrationHandle follow(MigrationRequest request, String migrationId, long afterEventId,
            Consumer<MigrationEvent> events, BiConsumer<MigrationEvent, Instant> timed) throws MigrationException {
        try {
            AgentApi api = directory.api(request.sourceHostId());
            EventStream stream = api.events(TYPES, afterEventId);
            Run run = new Run(directory, api, migrationId, request, stream, events);
            run.timed = timed;
            JsonNode status = api.get("/v1/migrations/" + migrationId);
            // ended before it was followed (a short migration): its events are still in the agent's replay, with
            // their times; take them from there, and the status only if the replay no longer holds its end
            if (afterEventId >= 0 && Run.ended(status) && run.replay(REPLAY_WAIT_MILLIS)) {
                return run;
            }
            if (run.outcome(status)) {
                stream.close();
                return run;
            }
            return followOn(run);
        } catch (AgentException e) {
            throw new MigrationException(e.getMessage(), e);
        }
    }

    /** How long following an ended migration waits for its replayed events before it takes the status instead. */
    private static final long REPLAY_WAIT_MILLIS = 2000;

    /** One migration followed on its source agent's event stream. */
    private static final class Run implements MigrationHandle {

        private static final Object END_OF_STREAM = new Object();

        private final AgentDirectory directory;
        /** The source agent's client; taken again from the directory when the settings changed meanwhile. */
        private AgentApi api;
        private final String id;
        private final MigrationRequest request;
        private final Consumer<MigrationEvent> events;
        /** Where events with their agent's time go (a migration followed late), or null: all go to {@link #events}. */
        private BiConsumer<MigrationEvent, Instant> timed;
        private EventStream stream;
        private MigrationPhase lastPhase;
        private int lastRound = -1;
        private long lastEventId = -1;
        private boolean doubtReported;
        private boolean lostReported;

        Run(AgentDirectory directory, AgentApi api, String id, MigrationRequest request, EventStream stream,
                Consumer<MigrationEvent> events) {
            this.directory = directory;
            this.api = api;
            this.id = id;
            this.request = request;
            this.stream = stream;
            this.events = events;
        }

        @Override
        public String migrationId() {
            return id;
        }

        @Override
        public CancelResult cancel() {
            try {
                directory.api(request.sourceHostId()).post("/v1/migrations/" + id + "/cancel", null);
                return CancelResult.aborted("host " + request.sourceHostId() + " sends ABORT to "
                        + request.destinationHostId() + ": the destination discards its copy and VM "
                        + request.vmName() + " resumes on " + request.sourceHostId());
            } catch (AgentRefusedException e) {
                return CancelResult.refused(e.getMessage());
            } catch (AgentException e) {
                return CancelResult.refused("the cancel request did not reach the source: " + e.getMessage()
                        + "; the migration goes on at the agents");
            }
        }

        /** Reads the stream until the migration has ended; reconnects with Last-Event-ID when it breaks. */
        void follow() {
            while (true) {
                try {
                    Optional<EventStream.Event> e = stream.next();
                    if (e.isEmpty()) {
                        throw new IOException("the agent ended the event stream");
                    }
                    if (deliver(e.get())) {
                        stream.close();
                        return;
                    }
                } catch (IOException broken) {
                    stream.close();
                    if (reconnect(broken)) {
                        return;
                    }
                }
            }
        }

        /** Notes the event's id and hands it on; true once Finished was delivered. */
        private boolean deliver(EventStream.Event e) {
            if (e.id() >= 0) {
                lastEventId = e.id();
            }
            try {
                return handle(e);
            } catch (RuntimeException unreadable) {
                // one event this console cannot read must not stop it from following the migration
                events.accept(new MigrationEvent.AnomalySeen(id, "CONSOLE", "cannot read the '" + e.type()
                        + "' event " + e.data() + " of " + api.describe() + ": " + unreadable.getMessage()));
                return false;
            }
        }

        /** True once Finished was delivered. */
        private boolean handle(EventStream.Event e) {
            JsonNode d = e.data();
            if (e.type().equals("outcome")) {
                return d.path("id").asText().equals(id) && outcome(d);
            }
            if (!d.path("migrationId").asText().equals(id)) {
                return false; // another migration of this agent
            }
            switch (e.type()) {
                case "phase" -> {
                    if (!"source".equals(d.path("role").asText("source"))) {
                        return false;
                    }
                    MigrationPhase p;
                    try {
                        p = MigrationPhase.valueOf(d.path("phase").asText());
                    } catch (IllegalArgumentException unknown) {
                        return false; // a phase this console does not know yet: the outcome still comes
                    }
                    if (p != lastPhase) {
                        lastPhase = p;
                        emit(new MigrationEvent.PhaseChanged(id, p), d.path("at"));
                    }
                }
                case "round" -> round(d.path("round"), d.path("at"));
                case "anomaly" -> anomaly(d.path("detail").asText(""));
                default -> {
                }
            }
            return false;
        }

        private void round(JsonNode r, JsonNode at) {
            int n = r.path("round").asInt(-1);
            if (n <= lastRound) {
                return; // replayed after a reconnect
            }
            lastRound = n;
            emit(new MigrationEvent.RoundCompleted(id, stats(r)), at);
        }

        /** To the timed sink with the agent's time {@code at} (epoch ms, or an ISO instant) when both exist. */
        private void emit(MigrationEvent e, JsonNode at) {
            Instant when = null;
            if (timed != null && at != null) {
                if (at.isNumber() && at.asLong() > 0) {
                    when = Instant.ofEpochMilli(at.asLong());
                } else if (at.isTextual()) {
                    try {
                        when = Instant.parse(at.asText());
                    } catch (java.time.format.DateTimeParseException notATime) {
                        when = null;
                    }
                }
            }
            if (when != null) {
                timed.accept(e, when);
            } else {
                events.accept(e);
            }
        }

        private void anomaly(String text) {
            int colon = text.indexOf(": ");
            String kind = colon > 0 && text.substring(0, colon).matches("[A-Z_]+") ? text.substring(0, colon)
                    : "ANOMALY";
            events.accept(new MigrationEvent.AnomalySeen(id, kind, colon > 0 && !kind.equals("ANOMALY")
                    ? text.substring(colon + 2) : text));
        }

        /** True if {@code v} (a migration's status) shows it ended and settled: what {@link #outcome} delivers. */
        static boolean ended(JsonNode v) {
            String state = v.path("state").asText("");
            return !v.path("inDoubt").asBoolean(false) && !state.equals("in_doubt") && state.equals("finished")
                    && !v.path("outcome").isMissingNode() && !v.path("outcome").isNull();
        }

        /**
         * Delivers the replayed events of an ended migration up to its outcome, on this thread; a reader thread only
         * queues them, so nothing here can block longer than {@code waitMillis}. Closes the stream either way.
         *
         * @return true once Finished was delivered from the replay
         */
        boolean replay(long waitMillis) {
            java.util.concurrent.BlockingQueue<Object> queue = new java.util.concurrent.LinkedBlockingQueue<>();
            EventStream s = stream;
            Thread reader = new Thread(() -> {
                try {
                    for (Optional<EventStream.Event> e = s.next(); e.isPresent(); e = s.next()) {
                        queue.add(e.get());
                    }
                } catch (IOException broken) {
                    // closed below, or the agent went away: the status is the fallback
                }
                queue.add(END_OF_STREAM);
            }, "sealift-replay-" + id);
            reader.setDaemon(true);
            reader.start();
            long deadline = System.nanoTime() + waitMillis * 1_000_000L;
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    Object o = left <= 0 ? null : queue.poll(left, java.util.concurrent.TimeUnit.NANOSECONDS);
                    if (o == null || o == END_OF_STREAM) {
                        return false;
                    }
                    if (deliver((EventStream.Event) o)) {
                        return true;
                    }
                }
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                s.close();
            }
        }

        /** Delivers what the status shows and Finished, unless the migration is still in doubt. */
        private boolean outcome(JsonNode v) {
            String state = v.path("state").asText("");
            if (v.path("inDoubt").asBoolean(false) || state.equals("in_doubt")) {
                if (!doubtReported) {
                    doubtReported = true;
                    events.accept(new MigrationEvent.AnomalySeen(id, "IN_DOUBT", "host " + request.sourceHostId()
                            + " released VM " + request.vmName() + " but has no DONE from "
                            + request.destinationHostId() + " yet: the VM stays paused at the source until the"
                            + " agents settle it (or resolve it in Preferences > In-doubt migrations)"));
                }
                return false;
            }
            if (!state.equals("finished") || v.path("outcome").isMissingNode() || v.path("outcome").isNull()) {
                return false;
            }
            for (JsonNode r : v.path("rounds")) {
                round(r, null); // rounds the stream did not bring (a reconnect past the agent's replay window)
            }
            events.accept(new MigrationEvent.PhaseChanged(id, MigrationPhase.FINISHED));
            emit(new MigrationEvent.Finished(id, summary(v)), v.path("finishedAt"));
            return true;
        }

        private MigrationSummary summary(JsonNode v) {
            List<RoundStats> rounds = new ArrayList<>();
            v.path("rounds").forEach(r -> rounds.add(stats(r)));
            List<String> anomalies = new ArrayList<>();
            v.path("anomalies").forEach(a -> anomalies.add(a.asText()));
            MigrationOutcome outcome = MigrationOutcome.valueOf(v.path("outcome").asText());
            JsonNode totals = v.path("totals");
            return new MigrationSummary(id, v.path("vm").asText(request.vmId()),
                    MigrationMode.parse(v.path("mode").asText(request.options().mode().toString())), outcome,
                    v.path("reason").asText(""), rounds, nanos(totals.path("totalMs").asDouble(0)),
                    nanos(totals.path("downtimeMs").asDouble(0)), anomalies);
        }

        /**
         * After the stream broke: subscribes again after the last event seen, then asks for the status in case the
         * end was missed. Keeps trying (the migration goes on at the agents whatever the console sees).
         *
         * @return true once Finished was delivered
         */
        private boolean reconnect(IOException why) {
            while (true) {
                try {
                    Thread.sleep(RETRY_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return true;
                }
                EventStream fresh = null;
                try {
                    api = directory.api(request.sourceHostId());
                    fresh = api.events(TYPES, lastEventId);
                    JsonNode status = api.get("/v1/migrations/" + id);
                    if (outcome(status)) {
                        fresh.close();
                        return true;
                    }
                    stream = fresh;
                    return false;
                } catch (AgentException e) {
                    if (fresh != null) {
                        fresh.close();
                    }
                    if (!lostReported) {
                        lostReported = true;
                        events.accept(new MigrationEvent.AnomalySeen(id, "CONSOLE", "lost the event stream of "
                                + api.describe() + " (" + why.getMessage() + "): " + e.getMessage()
                                + "; the migration goes on at the agents, the console keeps trying"));
                    }
                }
            }
        }
    }

    static RoundStats stats(JsonNode r) {
        return new RoundStats(r.path("round").asInt(), r.path("pagesNormal").asLong(), r.path("pagesProtected")
                .asLong(), r.path("pagesZero").asLong(), r.path("bytes").asLong(), r.path("dirtyPagesLeft").asLong(),
                nanos(r.path("durationMs").asDouble()), r.path("stopAndCopy").asBoolean());
    }

    private static long nanos(double ms) {
        return Math.max(0, Math.round(ms * 1e6));
    }
}
