package org.sealift.console.ui.inventory;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.eclipse.jface.viewers.TreeViewer;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.VmNode;

/**
 * The snapshot the tree shows (UI thread only) and the tree's shape derived from it: children of a key, their
 * number, the parent. {@link #apply} moves the tree from one snapshot to the next touching only what changed, so an
 * update costs in proportion to the change, not to the 20,000 nodes. A change too big for one UI-thread turn (say,
 * the VMs of hundreds of opened hosts arriving together) is applied host by host within a time budget per turn; the
 * hosts not yet done keep the snapshot their rows still show, and {@link #applyPending} carries on in later turns.
 */
public final class InventoryTreeModel {

    /** The tree's input. */
    public static final Object ROOT = new Object() {
        @Override
        public String toString() {
            return "inventory";
        }
    };

    /** UI-thread time one turn may spend inserting and updating child rows before the rest waits for the next. */
    static final long TURN_BUDGET_NANOS = 20_000_000L;

    private InventorySnapshot shown = InventorySnapshot.NO_SOURCE;
    /** Hosts whose child rows still show an older snapshot (the value), oldest change first. */
    private final Map<InventoryKey.Host, InventorySnapshot> pending = new LinkedHashMap<>();

    public InventorySnapshot shown() {
        return shown;
    }

    public int childCount(Object element) {
        return childCount(shown, element);
    }

    public Object child(Object parent, int index) {
        return child(shown, parent, index);
    }

    public Object parent(Object element) {
        if (element instanceof InventoryKey.Host) {
            return ROOT;
        }
        if (element instanceof InventoryKey.Vm v) {
            return new InventoryKey.Host(v.hostId());
        }
        if (element instanceof InventoryKey.Process p) {
            return new InventoryKey.Vm(p.hostId(), p.vmId());
        }
        if (element instanceof InventoryKey.Loading l) {
            return l.parent();
        }
        return null;
    }

    public HostNode host(InventoryKey key) {
        return shown.host(key.hostId()).orElse(null);
    }

    public VmNode vm(InventoryKey.Vm key) {
        return shown.vm(key.hostId(), key.vmId()).orElse(null);
    }

    public ProtectedProcessNode process(InventoryKey.Process key) {
        return shown.processes(key.hostId(), key.vmId()).flatMap(l -> l.stream().filter(p -> p.pid() == key.pid())
                .findFirst()).orElse(null);
    }

    static int childCount(InventorySnapshot s, Object element) {
        if (element == ROOT) {
            return s.hosts().size();
        }
        if (element instanceof InventoryKey.Host h) {
            HostNode node = s.host(h.hostId()).orElse(null);
            if (node == null || !node.isReachable()) {
                return 0;
            }
            return s.vms(h.hostId()).map(List::size).orElse(node.vmCount() > 0 ? 1 : 0);
        }
        if (element instanceof InventoryKey.Vm v) {
            VmNode node = s.vm(v.hostId(), v.vmId()).orElse(null);
            if (node == null) {
                return 0;
            }
            return s.processes(v.hostId(), v.vmId()).map(List::size).orElse(node.protectedProcesses() > 0 ? 1 : 0);
        }
        return 0;
    }

    static Object child(InventorySnapshot s, Object parent, int index) {
        if (parent == ROOT) {
            List<HostNode> hosts = s.hosts();
            return index < hosts.size() ? new InventoryKey.Host(hosts.get(index).hostId()) : null;
        }
        if (parent instanceof InventoryKey.Host h) {
            return s.vms(h.hostId()).<Object>map(l -> index < l.size()
                    ? new InventoryKey.Vm(h.hostId(), l.get(index).vmId()) : null)
                    .orElse(index == 0 ? new InventoryKey.Loading(h) : null);
        }
        if (parent instanceof InventoryKey.Vm v) {
            return s.processes(v.hostId(), v.vmId()).<Object>map(l -> index < l.size()
                    ? new InventoryKey.Process(v.hostId(), v.vmId(), l.get(index).pid()) : null)
                    .orElse(index == 0 ? new InventoryKey.Loading(v) : null);
        }
        return null;
    }

    /**
     * Shows {@code next} in {@code viewer} (a lazy, virtual tree over this model). Returns false if {@code next} is
     * older than what is shown (it is then ignored). Host rows are always brought up to date; their child rows as far
     * as {@link #TURN_BUDGET_NANOS} allows, the rest is left for {@link #applyPending} ({@link #hasPending}).
     */
    public boolean apply(TreeViewer viewer, InventorySnapshot next) {
        InventorySnapshot old = shown;
        if (next.version() <= old.version() && old != InventorySnapshot.NO_SOURCE) {
            return false;
        }
        long deadline = System.nanoTime() + TURN_BUDGET_NANOS;
        shown = next;
        int oldHosts = old.hosts().size();
        int newHosts = next.hosts().size();
        if (oldHosts != newHosts) {
            viewer.setChildCount(ROOT, newHosts);
        }
        for (int i = 0; i < newHosts; i++) {
            HostNode h = next.hosts().get(i);
            HostNode before = i < oldHosts ? old.hosts().get(i) : null;
            InventoryKey.Host key = new InventoryKey.Host(h.hostId());
            if (before == null) {
                pending.remove(key);
                continue; // a new row: the tree asks for it (updateElement) when it becomes visible
            }
            if (!before.hostId().equals(h.hostId())) {
                pending.remove(key);
                viewer.replace(ROOT, i, key);
                viewer.setChildCount(key, childCount(next, key));
                continue;
            }
            if (!before.equals(h)) {
                viewer.update(key, null);
            }
            // diff against what the rows show: an older snapshot if this host's rows were left for later
            InventorySnapshot base = pending.getOrDefault(key, old);
            if (unchanged(base, next, key)) {
                pending.remove(key);
            } else if (System.nanoTime() < deadline) {
                pending.remove(key);
                applyChildren(viewer, base, next, key);
            } else {
                pending.put(key, base);
            }
        }
        pending.keySet().removeIf(k -> next.host(k.hostId()).isEmpty());
        return true;
    }

    /** True while some hosts' child rows still show an older snapshot. */
    public boolean hasPending() {
        return !pending.isEmpty();
    }

    /** Brings more of the hosts left behind by {@link #apply} up to date, within one turn's budget. */
    public void applyPending(TreeViewer viewer) {
        if (pending.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + TURN_BUDGET_NANOS;
        Iterator<Map.Entry<InventoryKey.Host, InventorySnapshot>> it = pending.entrySet().iterator();
        // at least one host per turn, so the work always ends
        do {
            Map.Entry<InventoryKey.Host, InventorySnapshot> e = it.next();
            it.remove();
            applyChildren(viewer, e.getValue(), shown, e.getKey());
        } while (it.hasNext() && System.nanoTime() < deadline);
    }

    private static void applyChildren(TreeViewer viewer, InventorySnapshot old, InventorySnapshot next,
            InventoryKey parent) {
        if (parent instanceof InventoryKey.Host h && unchanged(old, next, h)) {
            return;
        }
        int oldCount = childCount(old, parent);
        int newCount = childCount(next, parent);
        boolean open = viewer.getExpandedState(parent);
        // a collapsed row only needs to know whether it has children: its count is asked for when it is opened
        if (oldCount != newCount && (open || (oldCount == 0) != (newCount == 0))) {
            viewer.setChildCount(parent, newCount);
        }
        if (!open) {
            return; // its rows are not shown: they are filled (updateElement) when it is opened
        }
        for (int i = 0; i < newCount; i++) {
            Object was = i < oldCount ? child(old, parent, i) : null;
            if (was == null) {
                continue; // a new row: filled when it becomes visible
            }
            Object is = child(next, parent, i);
            if (!was.equals(is)) {
                viewer.replace(parent, i, is);
                viewer.setChildCount(is, childCount(next, is));
            } else if (is instanceof InventoryKey.Vm vm) {
                if (!Objects.equals(old.vm(vm.hostId(), vm.vmId()), next.vm(vm.hostId(), vm.vmId()))) {
                    viewer.update(vm, null);
                }
                applyChildren(viewer, old, next, vm);
            }
        }
    }

    /** Same VM list and same process lists (snapshots share unchanged lists, so identity is enough). */
    private static boolean unchanged(InventorySnapshot old, InventorySnapshot next, InventoryKey.Host h) {
        List<VmNode> a = old.vms(h.hostId()).orElse(null);
        List<VmNode> b = next.vms(h.hostId()).orElse(null);
        if (a != b || childCount(old, h) != childCount(next, h)) {
            return false;
        }
        if (a == null) {
            return true;
        }
        for (VmNode v : a) {
            if (old.processes(h.hostId(), v.vmId()).orElse(null) != next.processes(h.hostId(), v.vmId()).orElse(null)
                    || old.loadingProcesses(h.hostId(), v.vmId()) != next.loadingProcesses(h.hostId(), v.vmId())) {
                return false;
            }
        }
        return true;
    }

}
