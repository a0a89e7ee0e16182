package org.sealift.agent.daemon;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.model.RoundStats;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One migration as this agent ran it (either end): what the API's status, history and event stream show. Mutable,
 * guarded by its own monitor; {@link #view()} takes a consistent snapshot.
 */
final class MigrationRun {

    static final String SOURCE = "source";
    static final String DESTINATION = "destination";

    final String id;
    final String role;
    final String vm;
    final String sourceHost;
    final String destinationHost;
    final MigrationMode mode;
    final String inject;
    final Instant started;
    final CountDownLatch done = new CountDownLatch(1);

    private MigrationPhase phase = MigrationPhase.HANDSHAKE;
    private final List<RoundStats> rounds = new ArrayList<>();
    private final List<String> anomalies = new ArrayList<>();
    private MigrationSummary summary;
    /** Where the downtime went (source side of a commit), see {@link MigrationResult#downtimeSteps}. */
    private java.util.Map<String, Long> downtimeSteps = java.util.Map.of();
    private boolean inDoubt;
    private Long attestationIndex;
    private String attestationNote;
    private String recordOutcome;
    private String recordReason;
    private boolean bothSigned;
    private String peerOutcome;
    private String peerReason;
    private Instant finished;
    private volatile SourceMigration engine;

    MigrationRun(String id, String role, String vm, String sourceHost, String destinationHost, MigrationMode mode,
            String inject, Instant started) {
        this.id = id;
        this.role = role;
        this.vm = vm;
        this.sourceHost = sourceHost;
        this.destinationHost = destinationHost;
        this.mode = mode;
        this.inject = inject;
        this.started = started;
    }

    /** A run restored from the history file: finished, read-only. */
    static MigrationRun restored(MigrationView v) {
        MigrationRun r = new MigrationRun(v.id(), v.role(), v.vm(), v.source(), v.destination(),
                MigrationMode.valueOf(v.mode().toUpperCase(java.util.Locale.ROOT)), v.inject(),
                Instant.parse(v.startedAt()));
        r.restoredView = v;
        r.done.countDown();
        return r;
    }

    private MigrationView restoredView;

    String peer(String self) {
        return self.equals(sourceHost) ? destinationHost : sourceHost;
    }

    void engine(SourceMigration e) {
        engine = e;
    }

    SourceMigration engine() {
        return engine;
    }

    synchronized void phase(MigrationPhase p) {
        phase = p;
    }

    synchronized MigrationPhase phase() {
        return phase;
    }

    synchronized void round(RoundStats r) {
        rounds.add(r);
    }

    synchronized void anomaly(String text) {
        anomalies.add(text);
    }

    synchronized void finish(MigrationResult r, Instant at) {
        // the engine is needed only to cancel a running migration; a finished one would keep its streams' buffers
        // (megabytes of direct memory per migration) for as long as the history lists the run
        engine = null;
        summary = r.summary();
        inDoubt = r.inDoubt();
        downtimeSteps = r.downtimeSteps();
        if (rounds.isEmpty()) {
            rounds.addAll(r.summary().rounds());
        }
        for (String a : r.summary().anomalies()) {
            if (!anomalies.contains(a)) {
                anomalies.add(a);
            }
        }
        finished = at;
    }

    /** A run that never started (refused before the engine ran) or was settled later (in-doubt resolution). */
    synchronized void settle(MigrationSummary s, boolean stillInDoubt, Instant at) {
        engine = null;
        summary = s;
        inDoubt = stillInDoubt;
        finished = at;
    }

    synchronized MigrationSummary summary() {
        return summary;
    }

    synchronized void attested(Long index, String note) {
        attestationIndex = index;
        attestationNote = note;
    }

    /** The logged record: where it is and what the hypervisors signed as outcome and reason. */
    synchronized void attested(long index, String note, String outcome, String reason, boolean both) {
        attestationIndex = index;
        attestationNote = note;
        recordOutcome = outcome;
        recordReason = reason;
        bothSigned = both;
    }

    /** What the peer agent says its end of the migration ended with (informational: agents are untrusted). */
    synchronized void peerOutcome(String outcome, String reason) {
        peerOutcome = outcome;
        peerReason = reason;
    }

    synchronized boolean finished() {
        return summary != null && !inDoubt;
    }

    synchronized boolean released() {
        return phase == MigrationPhase.RELEASED || inDoubt;
    }

    synchronized MigrationView view(String host) {
        if (restoredView != null) {
            return restoredView;
        }
        List<RoundView> rv = new ArrayList<>();
        for (RoundStats r : rounds) {
            rv.add(RoundView.of(r));
        }
        Totals totals = null;
        if (summary != null) {
            totals = new Totals(summary.rounds().size(), summary.pagesNormal(), summary.pagesProtected(),
                    summary.pagesZero(), summary.bytes(), summary.downtimeNanos() / 1e6, summary.totalNanos() / 1e6,
                    Totals.millis(downtimeSteps));
        }
        // "finishing": the engine ended and the attestation record is being exchanged and logged
        String state = done.getCount() > 0 ? (summary == null ? "running" : "finishing")
                : inDoubt ? "in_doubt" : "finished";
        return new MigrationView(id, role, vm, sourceHost, destinationHost, mode.name().toLowerCase(
                java.util.Locale.ROOT), inject, state, phase.name(), started.toString(),
                finished == null ? null : finished.toString(), summary == null ? null : summary.outcome().name(),
                summary == null ? null : tidy(summary.reason()), inDoubt, rv, totals, List.copyOf(anomalies),
                attestationIndex == null ? null : new AttestationRef(host, attestationIndex, recordOutcome,
                        recordReason, bothSigned), attestationNote,
                peerOutcome == null ? null : new PeerReport(peerOutcome, peerReason));
    }

    /** "POLICY: POLICY: host ..." (reason named by the engine and again by the hypervisor) → "POLICY: host ...". */
    static String tidy(String reason) {
        int colon = reason.indexOf(": ");
        if (colon > 0) {
            String head = reason.substring(0, colon + 2);
            if (reason.startsWith(head, colon + 2)) {
                return reason.substring(colon + 2);
            }
        }
        return reason;
    }

    /** The JSON of a migration in the API and in the event stream's "outcome" events. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record MigrationView(String id, String role, String vm, String source, String destination, String mode,
            String inject, String state, String phase, String startedAt, String finishedAt, String outcome,
            String reason, boolean inDoubt, List<RoundView> rounds, Totals totals, List<String> anomalies,
            AttestationRef attestation, String attestationNote, PeerReport peer) {
    }

    /** The other end's account of the migration, as its agent reported it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PeerReport(String outcome, String reason) {
    }

    /**
     * Totals over all rounds; downtime from the pause at the source to the resume at the destination; total time from
     * the start to the commit. {@code downtimeStepsMs}: the downtime's consecutive steps in order (the source's view
     * of a commit; absent otherwise), see {@link MigrationResult#downtimeSteps}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Totals(int rounds, long pagesNormal, long pagesProtected, long pagesZero, long bytes, double downtimeMs,
            double totalMs, java.util.Map<String, Double> downtimeStepsMs) {

        static java.util.Map<String, Double> millis(java.util.Map<String, Long> nanos) {
            if (nanos.isEmpty()) {
                return null;
            }
            java.util.Map<String, Double> ms = new java.util.LinkedHashMap<>();
            nanos.forEach((k, v) -> ms.put(k, Math.round(v / 1e4) / 100.0));
            return ms;
        }
    }

    /**
     * Where the migration's signed record is (entry {@code index} of host {@code host}'s attestation log), the
     * outcome and reason the hypervisors signed, and whether both signed it.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AttestationRef(String host, long index, String outcome, String reason, boolean signedByBoth) {
        @Override
        public String toString() {
            return host + "#" + index;
        }
    }

    /** One round's statistics, shaped like Xen's precopy_stats (times in ms). */
    record RoundView(int round, long pagesNormal, long pagesProtected, long pagesZero, long bytes, long dirtyPagesLeft,
            double durationMs, boolean stopAndCopy, double throughputMiBps, double dirtyPagesPerSecond) {

        static RoundView of(RoundStats r) {
            return new RoundView(r.round(), r.pagesNormal(), r.pagesProtected(), r.pagesZero(), r.bytes(),
                    r.dirtyPagesLeft(), r.durationNanos() / 1e6, r.stopAndCopy(),
                    r.throughputBytesPerSecond() / (1024.0 * 1024.0), r.dirtyRatePagesPerSecond());
        }
    }
}
