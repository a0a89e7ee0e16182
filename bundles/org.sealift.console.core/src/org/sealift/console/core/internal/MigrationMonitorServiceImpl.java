package org.sealift.console.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import org.osgi.service.component.annotations.Component;
import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.console.core.monitor.CancelState;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.MonitorSnapshot;
import org.sealift.console.core.monitor.PhaseMark;
import org.sealift.console.core.monitor.RoundPoint;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationPhase;

@Component(service = MigrationMonitorService.class)
public final class MigrationMonitorServiceImpl implements MigrationMonitorService {

    /** Finished migrations kept for the history list. */
    public static final int HISTORY_LIMIT = 200;

    private final List<Consumer<MonitorSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, MigrationRun> runs = new LinkedHashMap<>();
    private final Map<String, Long> startNanos = new HashMap<>();
    private final Map<String, Runnable> cancels = new HashMap<>();
    private final Clock clock;
    /** Per run followed with its source's event times: the time of its first timed event. */
    private final Map<String, Instant> eventBase = new HashMap<>();
    private final LongSupplier nanos;
    private MonitorSnapshot snapshot = MonitorSnapshot.EMPTY;
    private int failedStarts;

    public MigrationMonitorServiceImpl() {
        this(Clock.systemUTC(), System::nanoTime);
    }

    /** With a clock for tests that check the timeline. */
    public MigrationMonitorServiceImpl(Clock clock, LongSupplier nanos) {
        this.clock = clock;
        this.nanos = nanos;
    }

    @Override
    public synchronized MonitorSnapshot current() {
        return snapshot;
    }

    @Override
    public void addListener(Consumer<MonitorSnapshot> listener) {
        listeners.add(listener);
        listener.accept(current());
    }

    @Override
    public void removeListener(Consumer<MonitorSnapshot> listener) {
        listeners.remove(listener);
    }

    @Override
    public synchronized void register(String migrationId, MigrationRequest request, Runnable cancel) {
        MigrationRun r = runs.get(migrationId);
        if (r == null) {
            r = fresh(migrationId, request);
        } else if (r.request() == null) {
            r = new MigrationRun(r.migrationId(), request, r.phase(), r.timeline(), r.rounds(), r.anomalies(),
                    r.summary(), r.cancel(), r.cancelMessage(), r.startError(), r.started(), r.finished());
        }
        if (cancel != null) {
            cancels.put(migrationId, cancel);
        }
        put(r);
    }

    private MigrationRun fresh(String id, MigrationRequest request) {
        startNanos.put(id, nanos.getAsLong());
        return new MigrationRun(id, request, MigrationPhase.HANDSHAKE,
                List.of(new PhaseMark(MigrationPhase.HANDSHAKE, 0)), List.of(), List.of(), null, CancelState.NONE,
                "", "", clock.instant(), null);
    }

    private long elapsedMillis(String id) {
        Long t0 = startNanos.get(id);
        return t0 == null ? 0 : (nanos.getAsLong() - t0) / 1_000_000L;
    }

    @Override
    public synchronized void accept(MigrationEvent event) {
        accept(event, -1);
    }

    @Override
    public synchronized void accept(MigrationEvent event, Instant sourceTime) {
        if (sourceTime == null) {
            accept(event, -1);
            return;
        }
        if (event instanceof MigrationEvent.Finished && !eventBase.containsKey(event.migrationId())) {
            // a run whose other events came untimed (an agent without event times, or adopted after its end): its
            // end goes where they are, on the arrival clock, not at time zero of a clock nothing else uses
            accept(event, -1);
            return;
        }
        // the first timed event of a run is its time zero (a replay starts with the migration's first phase)
        Instant base = eventBase.computeIfAbsent(event.migrationId(), k -> sourceTime);
        accept(event, Math.max(0, Duration.between(base, sourceTime).toMillis()));
    }

    /** {@code atMillis}: the event's time in the run, or -1 for "as it arrives". */
    private void accept(MigrationEvent event, long atMillis) {
        String id = event.migrationId();
        MigrationRun r = runs.get(id);
        if (r == null) {
            r = fresh(id, null);
        }
        if (r.isFinished()) {
            return; // nothing follows Finished; a late duplicate must not reopen the run
        }
        long at = atMillis >= 0 ? atMillis : elapsedMillis(id);
        MigrationRun next;
        if (event instanceof MigrationEvent.PhaseChanged p && p.phase() == MigrationPhase.FINISHED) {
            return; // the run ends with its Finished event, which carries the outcome; until then it is not over
        } else if (event instanceof MigrationEvent.PhaseChanged p) {
            List<PhaseMark> t = new ArrayList<>(r.timeline());
            if (r.phase() != p.phase()) {
                t.add(new PhaseMark(p.phase(), at));
            }
            next = new MigrationRun(id, r.request(), p.phase(), t, r.rounds(), r.anomalies(), r.summary(),
                    r.cancel(), r.cancelMessage(), r.startError(), r.started(), null);
        } else if (event instanceof MigrationEvent.RoundCompleted rc) {
            List<RoundPoint> rounds = new ArrayList<>(r.rounds());
            rounds.add(RoundPoint.of(rc.stats(), at));
            List<PhaseMark> t = r.timeline();
            MigrationPhase phase = r.phase();
            if (rc.stats().stopAndCopy() && !phase.vmPaused()) {
                // the stop-and-copy round implies the pause even if its phase event was lost
                t = new ArrayList<>(t);
                t.add(new PhaseMark(MigrationPhase.STOP_AND_COPY, at));
                phase = MigrationPhase.STOP_AND_COPY;
            } else if (phase == MigrationPhase.HANDSHAKE) {
                t = new ArrayList<>(t);
                t.add(new PhaseMark(MigrationPhase.PRECOPY, at));
                phase = MigrationPhase.PRECOPY;
            }
            next = new MigrationRun(id, r.request(), phase, t, rounds, r.anomalies(), r.summary(), r.cancel(),
                    r.cancelMessage(), r.startError(), r.started(), null);
        } else if (event instanceof MigrationEvent.AnomalySeen a) {
            List<String> an = new ArrayList<>(r.anomalies());
            an.add(a.kind() + ": " + a.detail());
            next = new MigrationRun(id, r.request(), r.phase(), r.timeline(), r.rounds(), an, r.summary(),
                    r.cancel(), r.cancelMessage(), r.startError(), r.started(), null);
        } else if (event instanceof MigrationEvent.Finished f) {
            List<PhaseMark> t = new ArrayList<>(r.timeline());
            t.add(new PhaseMark(MigrationPhase.FINISHED, at));
            List<RoundPoint> rounds = r.rounds();
            if (rounds.isEmpty() && !f.summary().rounds().isEmpty()) {
                // the stream was missed (console started late): take the rounds from the summary
                List<RoundPoint> fromSummary = new ArrayList<>();
                f.summary().rounds().forEach(s -> fromSummary.add(RoundPoint.of(s, at)));
                rounds = fromSummary;
            }
            List<String> an = new ArrayList<>(r.anomalies());
            for (String s : f.summary().anomalies()) {
                if (!an.contains(s)) {
                    an.add(s);
                }
            }
            next = new MigrationRun(id, r.request(), MigrationPhase.FINISHED, t, rounds, an, f.summary(),
                    r.cancel(), r.cancelMessage(), r.startError(), r.started(), clock.instant());
            cancels.remove(id);
        } else {
            throw new IllegalArgumentException("unknown migration event " + event);
        }
        put(next);
    }

    @Override
    public synchronized void startFailed(MigrationRequest request, String reason) {
        String id = "not-started-" + (++failedStarts);
        Instant now = clock.instant();
        put(new MigrationRun(id, request, MigrationPhase.FINISHED, List.of(), List.of(), List.of(), null,
                CancelState.NONE, "", reason, now, now));
    }

    @Override
    public void requestCancel(String migrationId) {
        Runnable cancel;
        synchronized (this) {
            MigrationRun r = runs.get(migrationId);
            cancel = cancels.get(migrationId);
            if (r == null || r.isFinished() || cancel == null) {
                return;
            }
            put(withCancel(r, CancelState.REQUESTED, "asking the source agent to abort\u2026"));
        }
        cancel.run(); // outside the lock: it talks to the agent
    }

    @Override
    public synchronized void cancelAnswered(String migrationId, boolean abortSent, String message) {
        MigrationRun r = runs.get(migrationId);
        if (r != null) {
            put(withCancel(r, abortSent ? CancelState.ABORT_SENT : CancelState.REFUSED, message));
        }
    }

    private static MigrationRun withCancel(MigrationRun r, CancelState c, String message) {
        return new MigrationRun(r.migrationId(), r.request(), r.phase(), r.timeline(), r.rounds(), r.anomalies(),
                r.summary(), c, message, r.startError(), r.started(), r.finished());
    }

    /** Stores the run and publishes a new snapshot; the caller holds the lock, so listeners see versions in order. */
    private void put(MigrationRun r) {
        runs.put(r.migrationId(), r);
        trimHistory();
        List<MigrationRun> ordered = new ArrayList<>(runs.values());
        ordered.sort(Comparator.comparing(MigrationRun::isFinished)
                .thenComparing((a, b) -> a.isFinished() ? b.started().compareTo(a.started())
                        : a.started().compareTo(b.started())));
        snapshot = new MonitorSnapshot(snapshot.version() + 1, ordered);
        for (Consumer<MonitorSnapshot> l : listeners) {
            l.accept(snapshot);
        }
    }

    private void trimHistory() {
        List<String> finished = runs.values().stream().filter(MigrationRun::isFinished)
                .sorted(Comparator.comparing(MigrationRun::started)).map(MigrationRun::migrationId).toList();
        for (int i = 0; i < finished.size() - HISTORY_LIMIT; i++) {
            runs.remove(finished.get(i));
            startNanos.remove(finished.get(i));
        }
    }
}
