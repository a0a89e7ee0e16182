package org.sealift.console.core.inventory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable picture of the inventory at one moment: the hosts in agent order, the VM lists loaded so far and the
 * process lists loaded so far. A VM list that is absent has not been loaded (not "no VMs"). Every change makes a new
 * snapshot with a higher {@link #version()}, so a consumer that receives them out of order keeps the newest.
 */
public final class InventorySnapshot {

    /** No agent client installed: nothing can be loaded. */
    public static final InventorySnapshot NO_SOURCE = new InventorySnapshot(0, false, List.of(), Map.of(), Map.of(),
            Map.of(), Set.of());

    private final long version;
    private final boolean sourceAvailable;
    private final List<HostNode> hosts;
    private final Map<String, Integer> hostIndex;
    private final Map<String, List<VmNode>> vms;
    private final Map<String, List<ProtectedProcessNode>> processes;
    private final Set<String> loading;

    private InventorySnapshot(long version, boolean sourceAvailable, List<HostNode> hosts,
            Map<String, List<VmNode>> vms, Map<String, List<ProtectedProcessNode>> processes,
            Map<String, Integer> hostIndex, Set<String> loading) {
        this.version = version;
        this.sourceAvailable = sourceAvailable;
        this.hosts = hosts;
        this.vms = vms;
        this.processes = processes;
        this.hostIndex = hostIndex.isEmpty() && !hosts.isEmpty() ? index(hosts) : hostIndex;
        this.loading = loading;
    }

    /** No agent client installed (any more): nothing can be loaded. */
    public static InventorySnapshot noSource(long version) {
        return new InventorySnapshot(version, false, List.of(), Map.of(), Map.of(), Map.of(), Set.of());
    }

    /** An empty inventory that can be loaded (an inventory source is present). */
    public static InventorySnapshot empty(long version) {
        return new InventorySnapshot(version, true, List.of(), Map.of(), Map.of(), Map.of(), Set.of());
    }

    private static Map<String, Integer> index(List<HostNode> hosts) {
        Map<String, Integer> m = new HashMap<>(hosts.size() * 2);
        for (int i = 0; i < hosts.size(); i++) {
            m.put(hosts.get(i).hostId(), i);
        }
        return Collections.unmodifiableMap(m);
    }

    public long version() {
        return version;
    }

    /** False when no inventory source (agent client) is installed, so the UI can say why the tree is empty. */
    public boolean sourceAvailable() {
        return sourceAvailable;
    }

    public List<HostNode> hosts() {
        return hosts;
    }

    public Optional<HostNode> host(String hostId) {
        Integer i = hostIndex.get(hostId);
        return i == null ? Optional.empty() : Optional.of(hosts.get(i));
    }

    public int hostPosition(String hostId) {
        Integer i = hostIndex.get(hostId);
        return i == null ? -1 : i;
    }

    /** The VMs of a host, if loaded. */
    public Optional<List<VmNode>> vms(String hostId) {
        return Optional.ofNullable(vms.get(hostId));
    }

    public Optional<VmNode> vm(String hostId, String vmId) {
        List<VmNode> list = vms.get(hostId);
        if (list != null) {
            for (VmNode v : list) {
                if (v.vmId().equals(vmId)) {
                    return Optional.of(v);
                }
            }
        }
        return Optional.empty();
    }

    /** The protected processes of a VM, if loaded. */
    public Optional<List<ProtectedProcessNode>> processes(String hostId, String vmId) {
        return Optional.ofNullable(processes.get(processKey(hostId, vmId)));
    }

    public boolean loadingVms(String hostId) {
        return loading.contains(vmsKey(hostId));
    }

    public boolean loadingProcesses(String hostId, String vmId) {
        return loading.contains("p:" + processKey(hostId, vmId));
    }

    /** Number of tree nodes known (hosts, loaded VMs, loaded processes). */
    public int nodeCount() {
        int n = hosts.size();
        for (List<VmNode> l : vms.values()) {
            n += l.size();
        }
        for (List<ProtectedProcessNode> l : processes.values()) {
            n += l.size();
        }
        return n;
    }

    static String processKey(String hostId, String vmId) {
        return hostId + "\u0000" + vmId;
    }

    private static String vmsKey(String hostId) {
        return "v:" + hostId;
    }

    // ---- derivations: each returns a new snapshot with version + 1 -------------------------------------------

    /** Replaces the host list; VM and process lists of hosts that are gone are dropped. */
    public InventorySnapshot withHosts(List<HostNode> newHosts) {
        List<HostNode> copy = List.copyOf(newHosts);
        Map<String, Integer> idx = index(copy);
        if (idx.size() != copy.size()) {
            throw new IllegalArgumentException("two agents report the same host id: each host must appear once");
        }
        Map<String, List<VmNode>> v = new HashMap<>(vms);
        v.keySet().retainAll(idx.keySet());
        Map<String, List<ProtectedProcessNode>> p = new HashMap<>(processes);
        p.keySet().removeIf(k -> !idx.containsKey(k.substring(0, k.indexOf('\u0000'))));
        return new InventorySnapshot(version + 1, true, copy, Collections.unmodifiableMap(v),
                Collections.unmodifiableMap(p), idx, loading);
    }

    /** Replaces one host (by id); unknown ids are ignored (the host list changed meanwhile). */
    public InventorySnapshot withHost(HostNode host) {
        Integer i = hostIndex.get(host.hostId());
        if (i == null) {
            return this;
        }
        List<HostNode> copy = new ArrayList<>(hosts);
        copy.set(i, host);
        return new InventorySnapshot(version + 1, sourceAvailable, Collections.unmodifiableList(copy), vms, processes,
                hostIndex, loading);
    }

    /** Replaces the host at the position of {@code oldId} (an agent answered with a host id other than its name). */
    public InventorySnapshot withHostRenamed(String oldId, HostNode host) {
        Integer i = hostIndex.get(oldId);
        if (i == null || oldId.equals(host.hostId())) {
            return withHost(host);
        }
        List<HostNode> copy = new ArrayList<>(hosts);
        copy.set(i, host);
        return withHosts(copy).withoutVms(oldId);
    }

    public InventorySnapshot withVms(String hostId, List<VmNode> list) {
        if (!hostIndex.containsKey(hostId)) {
            return this;
        }
        Map<String, List<VmNode>> v = new HashMap<>(vms);
        v.put(hostId, List.copyOf(list));
        Set<String> l = new HashSet<>(loading);
        l.remove(vmsKey(hostId));
        return new InventorySnapshot(version + 1, sourceAvailable, hosts, Collections.unmodifiableMap(v), processes,
                hostIndex, Collections.unmodifiableSet(l));
    }

    /** Forgets a host's VM and process lists (e.g. when its agent became unreachable). */
    public InventorySnapshot withoutVms(String hostId) {
        Map<String, List<VmNode>> v = new HashMap<>(vms);
        v.remove(hostId);
        Map<String, List<ProtectedProcessNode>> p = new HashMap<>(processes);
        p.keySet().removeIf(k -> k.startsWith(hostId + "\u0000"));
        Set<String> l = new HashSet<>(loading);
        l.remove(vmsKey(hostId));
        l.removeIf(k -> k.startsWith("p:" + hostId + "\u0000"));
        return new InventorySnapshot(version + 1, sourceAvailable, hosts, Collections.unmodifiableMap(v),
                Collections.unmodifiableMap(p), hostIndex, Collections.unmodifiableSet(l));
    }

    public InventorySnapshot withProcesses(String hostId, String vmId, List<ProtectedProcessNode> list) {
        if (!vms.containsKey(hostId)) {
            return this;
        }
        Map<String, List<ProtectedProcessNode>> p = new HashMap<>(processes);
        p.put(processKey(hostId, vmId), List.copyOf(list));
        Set<String> l = new HashSet<>(loading);
        l.remove("p:" + processKey(hostId, vmId));
        return new InventorySnapshot(version + 1, sourceAvailable, hosts, vms, Collections.unmodifiableMap(p),
                hostIndex, Collections.unmodifiableSet(l));
    }

    public InventorySnapshot withLoadingVms(String hostId) {
        return withLoading(vmsKey(hostId), true);
    }

    public InventorySnapshot withLoadingProcesses(String hostId, String vmId) {
        return withLoading("p:" + processKey(hostId, vmId), true);
    }

    public InventorySnapshot withoutLoadingVms(String hostId) {
        return withLoading(vmsKey(hostId), false);
    }

    public InventorySnapshot withoutLoadingProcesses(String hostId, String vmId) {
        return withLoading("p:" + processKey(hostId, vmId), false);
    }

    private InventorySnapshot withLoading(String key, boolean on) {
        Set<String> l = new HashSet<>(loading);
        if (on ? !l.add(key) : !l.remove(key)) {
            return this;
        }
        return new InventorySnapshot(version + 1, sourceAvailable, hosts, vms, processes, hostIndex,
                Collections.unmodifiableSet(l));
    }

    @Override
    public String toString() {
        return "inventory v" + version + ": " + hosts.size() + " hosts, " + nodeCount() + " nodes";
    }
}
