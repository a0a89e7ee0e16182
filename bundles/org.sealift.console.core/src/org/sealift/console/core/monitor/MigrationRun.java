package org.sealift.console.core.monitor;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.sealift.console.core.migration.MigrationRequest;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;

/**
 * One migration as the monitor shows it: what was asked, the phases and rounds seen so far, and how it ended.
 * Immutable; the monitor makes a new one for every event.
 *
 * @param migrationId    the agents' migration id (hex), also the attestation record's name
 * @param request        what was asked (null if the console only saw the agent's events)
 * @param phase          the current phase
 * @param timeline       every phase entered, in order
 * @param rounds         every round's statistics, in order
 * @param anomalies      anomalies the engine reported while running ("REPLAY: page 0x1f3 version 4 dropped")
 * @param summary        the engine's final summary, once finished
 * @param cancel         where a cancel request stands
 * @param cancelMessage  the agent's answer to a cancel request
 * @param startError     why the migration could not be started (then nothing else is set)
 * @param started        when the console started (or first saw) it
 * @param finished       when the console saw it end
 */
public record MigrationRun(String migrationId, MigrationRequest request, MigrationPhase phase,
        List<PhaseMark> timeline, List<RoundPoint> rounds, List<String> anomalies, MigrationSummary summary,
        CancelState cancel, String cancelMessage, String startError, Instant started, Instant finished) {

    public MigrationRun {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(phase, "phase");
        timeline = List.copyOf(timeline);
        rounds = List.copyOf(rounds);
        anomalies = List.copyOf(anomalies);
        Objects.requireNonNull(cancel, "cancel");
        cancelMessage = cancelMessage == null ? "" : cancelMessage;
        startError = startError == null ? "" : startError;
        Objects.requireNonNull(started, "started");
    }

    public boolean isFinished() {
        return phase == MigrationPhase.FINISHED;
    }

    public Optional<MigrationOutcome> outcome() {
        return summary == null ? Optional.empty() : Optional.of(summary.outcome());
    }

    /** The downtime the engine measured (pause at the source to resume at the destination), once finished. */
    public Optional<Double> measuredDowntimeMs() {
        return summary == null || summary.downtimeNanos() == 0 ? Optional.empty()
                : Optional.of(summary.downtimeNanos() / 1e6);
    }

    /** "web-1: h1 → h2" (or the migration id when the request is not known). */
    public String title() {
        if (request == null) {
            String vm = summary == null ? "" : summary.vmId() + ": ";
            return vm + "migration " + shortId();
        }
        return request.vmName() + ": " + request.sourceHostId() + " \u2192 " + request.destinationHostId();
    }

    public String shortId() {
        return migrationId.length() > 8 ? migrationId.substring(0, 8) + "\u2026" : migrationId;
    }

}
