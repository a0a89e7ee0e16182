package org.sealift.console.core.migration;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.SubMonitor;
import org.eclipse.core.runtime.jobs.Job;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationSummary;

/**
 * One migration as an Eclipse Job: starts it through the {@link MigrationService}, feeds its events to the monitor,
 * reports progress per round and ends when the run ends. Cancelling the job asks the source agent to abort (a real
 * ABORT before RELEASE); after RELEASE the agent refuses and the job goes on until the run ends, with the refusal
 * shown in the monitor and in the job's result.
 */
public final class MigrationJob extends Job {

    /** Family of all migration jobs. */
    public static final Object FAMILY = MigrationJob.class;

    private static final String PLUGIN = "org.sealift.console.core";

    private final MigrationRequest request;
    private final MigrationService service;
    private final MigrationMonitorService monitor;
    private final BlockingQueue<MigrationEvent> events = new LinkedBlockingQueue<>();
    private volatile MigrationHandle handle;
    private volatile CancelResult cancelResult;

    public MigrationJob(MigrationRequest request, MigrationService service, MigrationMonitorService monitor) {
        super("Migrating " + request.describe());
        this.request = request;
        this.service = service;
        this.monitor = monitor;
        setUser(true);
    }

    public MigrationRequest request() {
        return request;
    }

    /** The agents' migration id once the source agent accepted the request, else null. */
    public String migrationId() {
        MigrationHandle h = handle;
        return h == null ? null : h.migrationId();
    }

    @Override
    public boolean belongsTo(Object family) {
        return family == FAMILY;
    }

    @Override
    protected IStatus run(IProgressMonitor progress) {
        int rounds = request.options().maxRounds();
        SubMonitor sub = SubMonitor.convert(progress, getName(), rounds + 4);
        sub.subTask("asking host " + request.sourceHostId() + " to start");
        MigrationHandle h;
        try {
            h = service.start(request, request.inject(), event -> {
                monitor.accept(event); // at once, on the service's thread, so the charts are live
                events.add(event);
            });
        } catch (MigrationException e) {
            monitor.startFailed(request, e.getMessage());
            return new Status(IStatus.ERROR, PLUGIN, "host " + request.sourceHostId() + " did not start the"
                    + " migration of " + request.vmName() + ": " + e.getMessage());
        }
        handle = h;
        monitor.register(h.migrationId(), request, this::cancel);
        if (progress.isCanceled()) {
            canceling(); // cancelled while the agent was still accepting: abort now that there is something to abort
        }
        sub.worked(1);
        while (true) {
            MigrationEvent e;
            try {
                e = events.poll(250, TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return new Status(IStatus.WARNING, PLUGIN, "stopped watching migration " + h.migrationId()
                        + " (interrupted); it goes on at the agents: see the monitor");
            }
            if (e == null) {
                continue; // cancellation is handled in canceling(); this loop only waits for the end
            }
            if (e instanceof MigrationEvent.PhaseChanged p) {
                sub.subTask(p.phase().toString().toLowerCase().replace('_', ' '));
            } else if (e instanceof MigrationEvent.RoundCompleted rc) {
                sub.subTask("round " + rc.stats().round() + ": " + rc.stats().dirtyPagesLeft() + " dirty pages left");
                sub.worked(1);
            } else if (e instanceof MigrationEvent.Finished f) {
                sub.done();
                return result(f.summary());
            }
        }
    }

    private IStatus result(MigrationSummary s) {
        CancelResult c = cancelResult;
        String what = request.vmName() + " from " + request.sourceHostId() + " to " + request.destinationHostId();
        if (s.outcome() == MigrationOutcome.COMMITTED) {
            String msg = "migrated " + what + ", downtime " + s.downtimeNanos() / 1_000_000 + " ms";
            return c != null && !c.abortSent()
                    ? new Status(IStatus.WARNING, PLUGIN, msg + "; the cancel request was refused: " + c.message())
                    : new Status(IStatus.OK, PLUGIN, msg);
        }
        if (c != null && c.abortSent() && s.outcome() == MigrationOutcome.ABORTED_BY_SOURCE) {
            return new Status(IStatus.CANCEL, PLUGIN, "cancelled: " + what + " was aborted, the VM stays on "
                    + request.sourceHostId());
        }
        return new Status(IStatus.ERROR, PLUGIN, "migration of " + what + " ended " + s.outcome() + ": "
                + s.reason());
    }

    /** Called by the job framework on {@link #cancel()}: sends ABORT through the agent, right away. */
    @Override
    protected void canceling() {
        MigrationHandle h = handle;
        if (h == null || cancelResult != null) {
            return; // not started yet (run() aborts as soon as it is) or already answered
        }
        CancelResult r;
        try {
            r = h.cancel();
        } catch (RuntimeException e) {
            r = CancelResult.refused("the source agent could not be asked to abort: " + e.getMessage());
        }
        cancelResult = r;
        monitor.cancelAnswered(h.migrationId(), r.abortSent(), r.message());
    }
}
