package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import java.util.function.Consumer;

import org.eclipse.e4.core.di.annotations.Optional;
import org.eclipse.e4.ui.di.Focus;
import org.eclipse.e4.ui.workbench.modeling.ESelectionService;
import org.eclipse.jface.action.Action;
import org.eclipse.jface.action.MenuManager;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.viewers.ColumnViewerToolTipSupport;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.TreeViewer;
import org.eclipse.jface.window.ToolTip;
import org.eclipse.swt.SWT;
import org.eclipse.swt.events.TreeEvent;
import org.eclipse.swt.events.TreeListener;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.ui.inventory.InventoryContentProvider;
import org.sealift.console.ui.inventory.InventoryDragAndDrop;
import org.sealift.console.ui.inventory.InventoryKey;
import org.sealift.console.ui.inventory.InventoryLabels;
import org.sealift.console.ui.inventory.InventoryTreeModel;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiCoalescer;
import org.sealift.console.ui.util.UiIds;
import org.sealift.console.ui.wizard.MigrationLauncher;

/**
 * Hosts → VMs → protected processes in a virtual, lazily filled tree. Wires the widget to the core's inventory
 * service (snapshots applied on the UI thread, at most every 100 ms), drag-and-drop to migrate, and a context menu.
 */
public class InventoryPart {

    /** Widget data key under which tests and accessibility tools find the tree (kept for compatibility). */
    public static final String TREE_ID = "org.sealift.console.inventory.tree";

    @Inject
    InventoryService inventory;
    @Inject
    CompatibilityService compatibility;
    @Inject
    SettingsService settings;
    @Inject
    MigrationLauncher launcher;
    @Inject
    @Optional
    ESelectionService selectionService;

    private final InventoryTreeModel model = new InventoryTreeModel();
    private TreeViewer viewer;
    private Label hint;
    private MessageLine message;
    private ConsoleImages images;
    private Consumer<InventorySnapshot> listener;
    private boolean pendingScheduled;

    @PostConstruct
    public void createControls(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        GridLayout layout = new GridLayout(1, false);
        layout.marginWidth = 0;
        layout.marginHeight = 0;
        layout.verticalSpacing = 2;
        parent.setLayout(layout);

        hint = UiIds.tag(new Label(parent, SWT.WRAP), UiIds.INVENTORY_HINT);
        GridDataFactory.fillDefaults().grab(true, false).indent(4, 4).applyTo(hint);

        viewer = new TreeViewer(parent, SWT.VIRTUAL | SWT.SINGLE | SWT.V_SCROLL | SWT.H_SCROLL);
        viewer.getTree().setData(TREE_ID, Boolean.TRUE);
        UiIds.tag(viewer.getTree(), UiIds.INVENTORY_TREE);
        viewer.setUseHashlookup(true);
        viewer.setContentProvider(new InventoryContentProvider(viewer, model));
        viewer.setLabelProvider(new InventoryLabels(model, images, parent.getDisplay()));
        ColumnViewerToolTipSupport.enableFor(viewer, ToolTip.NO_RECREATE);
        viewer.setInput(InventoryTreeModel.ROOT);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(viewer.getControl());

        message = UiIds.tag(new MessageLine(parent), UiIds.INVENTORY_MESSAGE);
        GridDataFactory.fillDefaults().grab(true, false).applyTo(message);

        viewer.getTree().addTreeListener(new TreeListener() {
            @Override
            public void treeExpanded(TreeEvent e) {
                Object key = e.item.getData();
                if (key instanceof InventoryKey.Host h) {
                    inventory.loadVms(h.hostId());
                } else if (key instanceof InventoryKey.Vm v) {
                    inventory.loadProcesses(v.hostId(), v.vmId());
                }
            }

            @Override
            public void treeCollapsed(TreeEvent e) {
            }
        });
        viewer.addSelectionChangedListener(e -> {
            Object key = ((IStructuredSelection) e.getSelection()).getFirstElement();
            if (selectionService != null && key instanceof InventoryKey) {
                selectionService.setSelection(key);
            }
        });
        createMenu();
        new InventoryDragAndDrop(viewer, model, compatibility, () -> settings.current().defaults().mode(),
                new InventoryDragAndDrop.Messages() {
                    @Override
                    public void info(String text) {
                        show(text, false);
                    }

                    @Override
                    public void refused(String text) {
                        show(text, true);
                    }
                }, this::openWizard).install();

        UiCoalescer<InventorySnapshot> coalescer = new UiCoalescer<>(viewer.getControl(), 100, this::apply);
        listener = coalescer::post;
        inventory.addListener(listener);
    }

    private void apply(InventorySnapshot s) {
        if (!model.apply(viewer, s)) {
            return;
        }
        schedulePending();
        String text;
        if (!s.sourceAvailable()) {
            text = "No agents connected: the console's agent client is not installed yet, so no hosts can be listed."
                    + " Attestation records can be opened from files in the Attestations part.";
        } else if (s.hosts().isEmpty()) {
            text = "No agents connected. Add the agents of your hosts in Preferences.";
        } else {
            text = "";
        }
        if (!text.equals(hint.getText())) {
            hint.setText(text);
            ((org.eclipse.swt.layout.GridData) hint.getLayoutData()).exclude = text.isEmpty();
            hint.setVisible(!text.isEmpty());
            hint.getParent().layout(true);
        }
    }

    /** Child rows left over by a big update go in later turns, so input and painting get in between. */
    private void schedulePending() {
        if (model.hasPending() && !pendingScheduled) {
            pendingScheduled = true;
            viewer.getControl().getDisplay().asyncExec(() -> {
                pendingScheduled = false;
                if (!viewer.getControl().isDisposed()) {
                    model.applyPending(viewer);
                    schedulePending();
                }
            });
        }
    }

    private void show(String text, boolean refused) {
        message.set(text, refused ? images.get(ConsoleImages.Base.BLANK, ConsoleImages.Badge.FAIL) : null,
                refused ? message.getDisplay().getSystemColor(SWT.COLOR_DARK_RED) : null);
    }

    private void createMenu() {
        MenuManager menu = new MenuManager();
        menu.setRemoveAllWhenShown(true);
        menu.addMenuListener(m -> {
            Object key = viewer.getStructuredSelection().getFirstElement();
            if (key instanceof InventoryKey.Vm vmKey && model.vm(vmKey) != null) {
                VmNode vm = model.vm(vmKey);
                m.add(new Action("Migrate\u2026") {
                    @Override
                    public void run() {
                        openWizard(vm, null);
                    }
                });
            }
            if (key instanceof InventoryKey.Host hostKey && model.host(hostKey) != null) {
                HostNode h = model.host(hostKey);
                Action reconnect = new Action("Reconnect") {
                    @Override
                    public void run() {
                        inventory.reconnect(h.hostId());
                        show("Asking the agent of host " + h.hostId() + " again\u2026", false);
                    }
                };
                m.add(reconnect);
            }
            m.add(new Action("Refresh all hosts") {
                @Override
                public void run() {
                    inventory.refresh();
                }
            });
        });
        viewer.getControl().setMenu(menu.createContextMenu(viewer.getControl()));
    }

    private void openWizard(VmNode vm, String destination) {
        if (!viewer.getControl().isDisposed()) {
            launcher.open(viewer.getControl().getShell(), vm, destination);
        }
    }

    /** The viewer, for tests. */
    public TreeViewer viewer() {
        return viewer;
    }

    @Focus
    public void setFocus() {
        viewer.getControl().setFocus();
    }

    @PreDestroy
    public void dispose() {
        if (listener != null) {
            inventory.removeListener(listener);
        }
        if (images != null) {
            images.dispose();
        }
    }
}
