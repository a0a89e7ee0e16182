package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Named;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.eclipse.e4.core.di.annotations.Optional;
import org.eclipse.e4.ui.di.Focus;
import org.eclipse.e4.ui.services.IServiceConstants;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.CLabel;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Composite;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.ui.inventory.InventoryKey;
import org.sealift.console.ui.inventory.InventoryLabels;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.ConsoleImages.Badge;
import org.sealift.console.ui.util.ConsoleImages.Base;
import org.sealift.console.ui.util.UiCoalescer;
import org.sealift.console.ui.util.UiIds;
import org.sealift.console.ui.wizard.MigrationLauncher;

/** The properties of what is selected in the inventory, kept current as snapshots arrive. */
public class DetailsPart {

    /** One row of the properties table. */
    public record Property(String name, String value) {
    }

    @Inject
    InventoryService inventory;
    @Inject
    MigrationLauncher launcher;

    private InventoryKey selected;
    private InventorySnapshot snapshot = InventorySnapshot.NO_SOURCE;
    private CLabel title;
    private TableViewer table;
    private Button reconnect;
    private Button migrate;
    private ConsoleImages images;
    private Consumer<InventorySnapshot> listener;

    @PostConstruct
    public void createControls(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        parent.setLayout(new GridLayout(2, false));
        title = UiIds.tag(new CLabel(parent, SWT.NONE), UiIds.DETAILS_TITLE);
        GridDataFactory.fillDefaults().grab(true, false).span(2, 1).applyTo(title);

        Composite box = new Composite(parent, SWT.NONE);
        TableColumnLayout layout = new TableColumnLayout();
        box.setLayout(layout);
        GridDataFactory.fillDefaults().grab(true, true).span(2, 1).applyTo(box);
        table = new TableViewer(box, SWT.BORDER | SWT.FULL_SELECTION);
        UiIds.tag(table.getTable(), UiIds.DETAILS_TABLE);
        table.getTable().setHeaderVisible(true);
        table.setContentProvider(ArrayContentProvider.getInstance());
        TableViewerColumn name = new TableViewerColumn(table, SWT.NONE);
        name.getColumn().setText("Property");
        layout.setColumnData(name.getColumn(), new ColumnWeightData(30, 110));
        name.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> ((Property) o).name()));
        TableViewerColumn value = new TableViewerColumn(table, SWT.NONE);
        value.getColumn().setText("Value");
        layout.setColumnData(value.getColumn(), new ColumnWeightData(70, 200));
        value.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> ((Property) o).value()));

        reconnect = UiIds.tag(new Button(parent, SWT.PUSH), UiIds.DETAILS_RECONNECT);
        reconnect.setText("Reconnect");
        reconnect.addListener(SWT.Selection, e -> {
            if (selected instanceof InventoryKey.Host h) {
                inventory.reconnect(h.hostId());
            }
        });
        migrate = UiIds.tag(new Button(parent, SWT.PUSH), UiIds.DETAILS_MIGRATE);
        migrate.setText("Migrate\u2026");
        migrate.addListener(SWT.Selection, e -> {
            if (selected instanceof InventoryKey.Vm v) {
                snapshot.vm(v.hostId(), v.vmId()).ifPresent(vm -> launcher.open(parent.getShell(), vm, null));
            }
        });
        UiCoalescer<InventorySnapshot> coalescer = new UiCoalescer<>(table.getControl(), 100, s -> {
            snapshot = s;
            show();
        });
        listener = coalescer::post;
        inventory.addListener(listener);
        show();
    }

    /** The inventory's selection (any other selection, or none, leaves the last one shown). */
    @Inject
    @Optional
    public void setSelection(@Named(IServiceConstants.ACTIVE_SELECTION) InventoryKey key) {
        if (key != null && !(key instanceof InventoryKey.Loading)) {
            selected = key;
            if (table != null && !table.getControl().isDisposed()) {
                show();
            }
        }
    }

    private void show() {
        List<Property> rows = new ArrayList<>();
        String heading = "Select a host, VM or process in the Inventory.";
        org.eclipse.swt.graphics.Image icon = null;
        boolean canReconnect = false;
        boolean canMigrate = false;
        if (selected instanceof InventoryKey.Host k) {
            HostNode h = snapshot.host(k.hostId()).orElse(null);
            if (h != null) {
                heading = "Host " + InventoryLabels.hostText(h);
                icon = images.get(h.isReachable() ? Base.HOST : Base.HOST_OFFLINE, switch (h.reachability()) {
                    case CONNECTING -> Badge.CONNECTING;
                    case UNREACHABLE -> Badge.UNREACHABLE;
                    case REACHABLE -> h.attested() ? Badge.ATTESTED : Badge.NOT_ATTESTED;
                });
                rows.add(new Property("Host id", h.hostId()));
                rows.add(new Property("Agent", h.agent().address().toString()));
                rows.add(new Property("Reachability", h.reachability().name().toLowerCase()));
                if (!h.problem().isEmpty()) {
                    rows.add(new Property("Problem", h.problem()));
                }
                if (h.isReachable()) {
                    rows.add(new Property("Attested", h.attested() ? "yes" : "NO"));
                    rows.add(new Property("Measurement", h.measurement().isEmpty() ? "(none)" : h.measurement()));
                    rows.add(new Property("Policy", h.policy().isEmpty() ? "(none)" : h.policy()));
                    rows.add(new Property("Backend", h.backend()));
                    rows.add(new Property("Memory", h.freeMemoryMiB() + " MiB free of " + h.memoryMiB() + " MiB"));
                    rows.add(new Property("CPUs", Integer.toString(h.vcpus())));
                    rows.add(new Property("VMs", Integer.toString(h.vmCount())));
                    rows.add(new Property("Health", h.health() + (h.healthProblems().isEmpty() ? ""
                            : ": " + String.join("; ", h.healthProblems()))));
                }
                canReconnect = !h.isReachable();
            }
        } else if (selected instanceof InventoryKey.Vm k) {
            VmNode v = snapshot.vm(k.hostId(), k.vmId()).orElse(null);
            if (v != null) {
                heading = "VM " + InventoryLabels.vmText(v);
                icon = images.get(Base.VM, Badge.NONE);
                rows.add(new Property("Name", v.name()));
                rows.add(new Property("VM id", v.vmId()));
                rows.add(new Property("Host", v.hostId()));
                rows.add(new Property("State", v.state().label()));
                rows.add(new Property("Memory", v.memoryMiB() + " MiB"));
                rows.add(new Property("vCPUs", Integer.toString(v.vcpus())));
                rows.add(new Property("Protected processes", Integer.toString(v.protectedProcesses())));
                canMigrate = true;
            }
        } else if (selected instanceof InventoryKey.Process k) {
            ProtectedProcessNode p = snapshot.processes(k.hostId(), k.vmId()).flatMap(l -> l.stream()
                    .filter(x -> x.pid() == k.pid()).findFirst()).orElse(null);
            if (p != null) {
                heading = "Protected process " + p.name();
                icon = images.get(Base.PROCESS, Badge.NONE);
                rows.add(new Property("Name", p.name()));
                rows.add(new Property("PID", Integer.toString(p.pid())));
                rows.add(new Property("VM", p.vmId()));
                rows.add(new Property("Host", p.hostId()));
                rows.add(new Property("Protected pages", Long.toString(p.protectedPages())));
            }
        }
        title.setText(heading);
        title.setImage(icon);
        table.setInput(rows);
        reconnect.setEnabled(canReconnect);
        migrate.setEnabled(canMigrate);
    }

    @Focus
    public void setFocus() {
        table.getControl().setFocus();
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
