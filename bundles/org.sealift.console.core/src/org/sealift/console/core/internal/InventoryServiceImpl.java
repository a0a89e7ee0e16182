package org.sealift.console.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.IStatus;
import org.eclipse.core.runtime.Status;
import org.eclipse.core.runtime.SubMonitor;
import org.eclipse.core.runtime.jobs.Job;
import org.eclipse.core.runtime.jobs.IJobChangeEvent;
import org.eclipse.core.runtime.jobs.IJobChangeListener;
import org.eclipse.core.runtime.jobs.JobChangeAdapter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.InventorySource;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.MigrationJob;

/**
 * Loads the inventory from the {@link InventorySource} (the agent client) in Jobs and publishes snapshots. Hosts are
 * loaded on {@link #refresh()}, VMs and processes only when asked (the tree asks when a node is expanded), so a
 * thousand hosts cost a thousand small requests, not twenty thousand.
 */
@Component(service = InventoryService.class)
public final class InventoryServiceImpl implements InventoryService {

    /** Family of all inventory jobs, for {@code Job.getJobManager().join(FAMILY, …)} in tests. */
    public static final Object JOB_FAMILY = InventoryServiceImpl.class;

    /** Publish at most this often while a refresh walks many agents (the UI coalesces anyway). */
    private static final long PUBLISH_EVERY_NANOS = 50_000_000L;

    private final List<Consumer<InventorySnapshot>> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private volatile InventorySource source;
    /** Hosts whose VM list was asked for: reloaded after a refresh or reconnect, even if it was dropped meanwhile. */
    private final java.util.Set<String> vmsWanted = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private InventorySnapshot snapshot = InventorySnapshot.NO_SOURCE;

    /** When a migration ends, VMs have moved (or not): both hosts' lists must be asked again, not left stale. */
    private final IJobChangeListener migrationEnded = new JobChangeAdapter() {
        @Override
        public void done(IJobChangeEvent event) {
            if (event.getJob().belongsTo(MigrationJob.FAMILY)) {
                refresh();
            }
        }
    };

    /** For DS. */
    public InventoryServiceImpl() {
    }

    @Activate
    void activate() {
        Job.getJobManager().addJobChangeListener(migrationEnded);
    }

    @Deactivate
    void deactivate() {
        Job.getJobManager().removeJobChangeListener(migrationEnded);
    }

    /** For tests and for consoles wired by hand. */
    public InventoryServiceImpl(InventorySource source) {
        bindSource(source);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSource(InventorySource s) {
        source = s;
        update(old -> InventorySnapshot.empty(old.version() + 1));
        refresh();
    }

    void unbindSource(InventorySource s) {
        if (source == s) {
            source = null;
            update(old -> InventorySnapshot.noSource(old.version() + 1));
        }
    }

    @Override
    public InventorySnapshot current() {
        synchronized (lock) {
            return snapshot;
        }
    }

    @Override
    public void addListener(Consumer<InventorySnapshot> listener) {
        // under the lock that update() holds while it notifies: otherwise a refresh running now could hand the new
        // listener a snapshot first and this call the same (or an older) one after it
        synchronized (lock) {
            listeners.add(listener);
            listener.accept(snapshot);
        }
    }

    @Override
    public void removeListener(Consumer<InventorySnapshot> listener) {
        listeners.remove(listener);
    }

    /** Applies a change and tells the listeners, in version order (the lock is held while they run). */
    private InventorySnapshot update(UnaryOperator<InventorySnapshot> change) {
        synchronized (lock) {
            InventorySnapshot next = change.apply(snapshot);
            if (next == snapshot) {
                return next;
            }
            if (next.version() <= snapshot.version()) {
                throw new IllegalStateException("inventory snapshot versions must grow: " + next + " after " + snapshot);
            }
            snapshot = next;
            for (Consumer<InventorySnapshot> l : listeners) {
                l.accept(next);
            }
            return next;
        }
    }

    @Override
    public void refresh() {
        InventorySource src = source;
        if (src == null) {
            return;
        }
        schedule(new InventoryJob("Loading the inventory") {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                // one host per name: Preferences refuses duplicates, this keeps a hand-edited file from breaking the tree
                java.util.Map<String, AgentRef> unique = new java.util.LinkedHashMap<>();
                for (AgentRef a : src.agents()) {
                    unique.putIfAbsent(a.name(), a);
                }
                List<AgentRef> agents = List.copyOf(unique.values());
                SubMonitor sub = SubMonitor.convert(monitor, "Asking " + agents.size() + " agents", agents.size());
                List<HostNode> known = new ArrayList<>();
                InventorySnapshot before = current();
                for (AgentRef a : agents) {
                    // keep what is known about a host while it is asked again, so the tree does not flicker
                    known.add(before.host(a.name()).map(HostNode::asConnecting).orElse(HostNode.connecting(a)));
                }
                update(s -> s.withHosts(known));
                long lastPublish = System.nanoTime();
                List<HostNode> pending = new ArrayList<>();
                for (int i = 0; i < agents.size(); i++) {
                    if (sub.isCanceled()) {
                        return Status.CANCEL_STATUS;
                    }
                    pending.add(fetchHost(src, agents.get(i)));
                    sub.worked(1);
                    if (System.nanoTime() - lastPublish > PUBLISH_EVERY_NANOS || i == agents.size() - 1) {
                        List<HostNode> batch = List.copyOf(pending);
                        pending.clear();
                        update(s -> {
                            InventorySnapshot r = s;
                            for (HostNode h : batch) {
                                r = applyHost(r, h);
                            }
                            return r;
                        });
                        lastPublish = System.nanoTime();
                    }
                }
                // VM lists that were open before the refresh are reloaded, the rest stay lazy
                for (HostNode h : current().hosts()) {
                    if (vmsWanted.contains(h.hostId()) && h.isReachable()) {
                        reloadVms(h.hostId());
                    }
                }
                return Status.OK_STATUS;
            }
        });
    }

    /** An agent may answer with a host id other than the name it was configured with: the answer wins. */
    private static InventorySnapshot applyHost(InventorySnapshot s, HostNode answered) {
        String configured = answered.agent().name();
        if (!configured.equals(answered.hostId()) && s.host(answered.hostId()).isPresent()) {
            // a second agent claims a host id already shown: show the conflict instead of merging two hosts
            return s.withHost(HostNode.unreachable(answered.agent(), "agent " + answered.agent().address()
                    + " answers as host " + answered.hostId() + ", which another agent already is; fix the agent"
                    + " list in Preferences"));
        }
        if (!answered.isReachable() && s.vms(answered.hostId()).isPresent()) {
            s = s.withoutVms(answered.hostId()); // an agent that stopped answering takes its (stale) VM lists along
        }
        return s.withHostRenamed(configured, answered);
    }

    private static HostNode fetchHost(InventorySource src, AgentRef agent) {
        try {
            return src.host(agent);
        } catch (AgentException e) {
            return HostNode.unreachable(agent, e.getMessage());
        } catch (RuntimeException e) {
            return HostNode.unreachable(agent, "agent " + agent + " failed: " + e
                    + "; this is a console bug, please report it with the console log");
        }
    }

    @Override
    public void loadVms(String hostId) {
        vmsWanted.add(hostId);
        InventorySnapshot s = current();
        if (s.vms(hostId).isPresent() || s.loadingVms(hostId)) {
            return;
        }
        reloadVms(hostId);
    }

    private void reloadVms(String hostId) {
        InventorySource src = source;
        Optional<HostNode> host = current().host(hostId);
        if (src == null || host.isEmpty() || !host.get().isReachable()) {
            return;
        }
        update(s -> s.withLoadingVms(hostId));
        AgentRef agent = host.get().agent();
        schedule(new InventoryJob("Loading the VMs of host " + hostId) {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                try {
                    List<VmNode> list = src.vms(agent);
                    update(s -> s.withVms(hostId, list));
                } catch (AgentException e) {
                    markUnreachable(hostId, e.getMessage());
                }
                return Status.OK_STATUS;
            }
        });
    }

    @Override
    public void loadProcesses(String hostId, String vmId) {
        InventorySnapshot s = current();
        InventorySource src = source;
        Optional<HostNode> host = s.host(hostId);
        if (src == null || host.isEmpty() || !host.get().isReachable() || s.vm(hostId, vmId).isEmpty()
                || s.processes(hostId, vmId).isPresent() || s.loadingProcesses(hostId, vmId)) {
            return;
        }
        update(x -> x.withLoadingProcesses(hostId, vmId));
        AgentRef agent = host.get().agent();
        schedule(new InventoryJob("Loading the protected processes of VM " + vmId + " on host " + hostId) {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                try {
                    List<ProtectedProcessNode> list = src.processes(agent, vmId);
                    update(x -> x.withProcesses(hostId, vmId, list));
                } catch (AgentException e) {
                    markUnreachable(hostId, e.getMessage());
                }
                return Status.OK_STATUS;
            }
        });
    }

    private void markUnreachable(String hostId, String why) {
        update(s -> s.host(hostId).map(h -> s.withoutVms(hostId).withHost(h.asUnreachable(why))).orElse(s));
    }

    /** Hosts with a quiet re-fetch scheduled or running (value: another change came in meanwhile). */
    private final java.util.Map<String, Boolean> changing = new java.util.HashMap<>();

    @Override
    public void hostChanged(String hostId) {
        InventorySource src = source;
        Optional<HostNode> host = current().host(hostId);
        if (src == null || host.isEmpty() || !host.get().isReachable()) {
            return; // an unreachable host is asked again by reconnect, a person's or the next refresh
        }
        synchronized (changing) {
            if (changing.containsKey(hostId)) {
                changing.put(hostId, Boolean.TRUE);
                return;
            }
            changing.put(hostId, Boolean.FALSE);
        }
        AgentRef agent = host.get().agent();
        schedule(new InventoryJob("Updating host " + hostId) {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                boolean again;
                do {
                    fetchQuietly(src, agent, hostId);
                    synchronized (changing) {
                        again = changing.get(hostId) == Boolean.TRUE;
                        if (again) {
                            changing.put(hostId, Boolean.FALSE);
                        } else {
                            changing.remove(hostId);
                        }
                    }
                } while (again);
                return Status.OK_STATUS;
            }
        });
    }

    private void fetchQuietly(InventorySource src, AgentRef agent, String hostId) {
        HostNode fresh = fetchHost(src, agent);
        if (!fresh.isReachable()) {
            markUnreachable(hostId, fresh.problem());
            return;
        }
        List<VmNode> vms = null;
        if (vmsWanted.contains(hostId)) {
            try {
                vms = src.vms(agent);
            } catch (AgentException e) {
                markUnreachable(hostId, e.getMessage());
                return;
            }
        }
        List<VmNode> list = vms;
        update(s -> {
            InventorySnapshot r = applyHost(s, fresh);
            return list == null ? r : r.withVms(hostId, list);
        });
    }

    @Override
    public void reconnect(String hostId) {
        InventorySource src = source;
        Optional<HostNode> host = current().host(hostId);
        if (src == null || host.isEmpty()) {
            return;
        }
        AgentRef agent = host.get().agent();
        update(s -> s.withHost(host.get().asConnecting()));
        schedule(new InventoryJob("Reconnecting to host " + hostId) {
            @Override
            protected IStatus run(IProgressMonitor monitor) {
                HostNode fresh = fetchHost(src, agent);
                if (!fresh.isReachable()) {
                    fresh = host.get().asUnreachable(fresh.problem());
                }
                HostNode answered = fresh;
                update(s -> applyHost(s, answered));
                if (answered.isReachable() && vmsWanted.contains(answered.hostId())) {
                    reloadVms(answered.hostId());
                }
                return Status.OK_STATUS;
            }
        });
    }

    private static void schedule(Job job) {
        job.setSystem(true);
        job.schedule();
    }

    /** Background work of this service; one family so tests can wait for all of it. */
    private abstract static class InventoryJob extends Job {
        InventoryJob(String name) {
            super(name);
        }

        @Override
        public boolean belongsTo(Object family) {
            return family == JOB_FAMILY;
        }
    }
}
