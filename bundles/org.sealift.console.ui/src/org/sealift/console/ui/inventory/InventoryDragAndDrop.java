package org.sealift.console.ui.inventory;

import java.util.function.BiConsumer;

import org.eclipse.jface.util.LocalSelectionTransfer;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.TreeViewer;
import org.eclipse.swt.dnd.DND;
import org.eclipse.swt.dnd.DragSource;
import org.eclipse.swt.dnd.DragSourceAdapter;
import org.eclipse.swt.dnd.DragSourceEvent;
import org.eclipse.swt.dnd.DropTarget;
import org.eclipse.swt.dnd.DropTargetAdapter;
import org.eclipse.swt.dnd.DropTargetEvent;
import org.eclipse.swt.dnd.Transfer;
import org.eclipse.swt.widgets.Item;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.model.MigrationMode;

/**
 * Drag a VM onto a host: while dragging, every host under the pointer is checked with the core's compatibility
 * service and either accepts the drop or refuses it, with the reason shown in the part's message line (as XenCenter
 * does). A drop opens the migration wizard pre-filled with that host.
 */
public final class InventoryDragAndDrop {

    /** Where the person reads what a drop would do. */
    public interface Messages {
        void info(String text);

        void refused(String text);
    }

    private final TreeViewer viewer;
    private final InventoryTreeModel model;
    private final CompatibilityService compatibility;
    private final java.util.function.Supplier<MigrationMode> mode;
    private final Messages messages;
    private final BiConsumer<VmNode, String> openWizard;
    private InventoryKey.Vm dragged;

    public InventoryDragAndDrop(TreeViewer viewer, InventoryTreeModel model, CompatibilityService compatibility,
            java.util.function.Supplier<MigrationMode> mode, Messages messages, BiConsumer<VmNode, String> openWizard) {
        this.viewer = viewer;
        this.model = model;
        this.compatibility = compatibility;
        this.mode = mode;
        this.messages = messages;
        this.openWizard = openWizard;
    }

    public void install() {
        Transfer[] local = { LocalSelectionTransfer.getTransfer() };
        DragSource source = new DragSource(viewer.getControl(), DND.DROP_MOVE);
        source.setTransfer(local);
        source.addDragListener(new DragSourceAdapter() {
            @Override
            public void dragStart(DragSourceEvent e) {
                IStructuredSelection sel = viewer.getStructuredSelection();
                if (sel.size() == 1 && sel.getFirstElement() instanceof InventoryKey.Vm vm && model.vm(vm) != null) {
                    dragged = vm;
                    LocalSelectionTransfer.getTransfer().setSelection(sel);
                    messages.info("Drop " + model.vm(vm).name() + " on a host to migrate it there.");
                } else {
                    e.doit = false;
                }
            }

            @Override
            public void dragSetData(DragSourceEvent e) {
                e.data = LocalSelectionTransfer.getTransfer().getSelection();
            }

            @Override
            public void dragFinished(DragSourceEvent e) {
                LocalSelectionTransfer.getTransfer().setSelection(null);
                dragged = null;
            }
        });

        DropTarget target = new DropTarget(viewer.getControl(), DND.DROP_MOVE | DND.DROP_DEFAULT);
        target.setTransfer(local);
        target.addDropListener(new DropTargetAdapter() {
            @Override
            public void dragEnter(DropTargetEvent e) {
                judge(e);
            }

            @Override
            public void dragOver(DropTargetEvent e) {
                judge(e);
            }

            @Override
            public void dragOperationChanged(DropTargetEvent e) {
                judge(e);
            }

            @Override
            public void dropAccept(DropTargetEvent e) {
                judge(e);
            }

            @Override
            public void drop(DropTargetEvent e) {
                InventoryKey.Vm vm = dragged;
                String host = hostUnder(e);
                if (vm == null || host == null || !check(vm, host).allowed()) {
                    e.detail = DND.DROP_NONE;
                    return;
                }
                VmNode node = model.vm(vm);
                // after the drag has ended: a modal wizard must not run inside the drop callback
                viewer.getControl().getDisplay().asyncExec(() -> openWizard.accept(node, host));
            }
        });
    }

    private void judge(DropTargetEvent e) {
        e.feedback = DND.FEEDBACK_SCROLL;
        InventoryKey.Vm vm = dragged;
        if (vm == null || model.vm(vm) == null) {
            e.detail = DND.DROP_NONE;
            return;
        }
        String name = model.vm(vm).name();
        String host = hostUnder(e);
        if (host == null) {
            e.detail = DND.DROP_NONE;
            messages.info("Drop " + name + " on a host row to migrate it there.");
            return;
        }
        Compatibility c = check(vm, host);
        if (c.allowed()) {
            e.detail = DND.DROP_MOVE;
            e.feedback |= DND.FEEDBACK_SELECT;
            messages.info("Drop to migrate " + name + " from " + vm.hostId() + " to " + host
                    + (c.warnings().isEmpty() ? "." : " (" + c.warnings().get(0) + ")"));
        } else {
            e.detail = DND.DROP_NONE;
            messages.refused("Cannot migrate " + name + " to " + host + ": " + c.reason());
        }
    }

    private Compatibility check(InventoryKey.Vm vm, String host) {
        return compatibility.check(model.shown(), vm.hostId(), vm.vmId(), host, mode.get());
    }

    private static String hostUnder(DropTargetEvent e) {
        if (e.item instanceof Item item && item.getData() instanceof InventoryKey.Host h) {
            return h.hostId();
        }
        return null;
    }

}
