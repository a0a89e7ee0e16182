package org.sealift.console.ui.wizard;

import java.util.List;

import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.StructuredSelection;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.jface.wizard.WizardPage;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.ui.inventory.InventoryLabels;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.ConsoleImages.Badge;
import org.sealift.console.ui.util.ConsoleImages.Base;
import org.sealift.console.ui.util.UiIds;

/** Where to: every other host with whether it can take the VM and, if not, why. */
final class DestinationPage extends WizardPage {

    private final MigrationWizardModel model;
    private TableViewer hosts;
    private ConsoleImages images;

    DestinationPage(MigrationWizardModel model) {
        super("destination");
        this.model = model;
        setTitle("Destination");
        setDescription("Choose the host to move " + model.vm.name() + " to.");
    }

    @Override
    public void createControl(Composite parent) {
        images = new ConsoleImages(parent.getDisplay());
        Composite c = new Composite(parent, SWT.NONE);
        c.setLayout(new GridLayout(1, false));
        Label what = new Label(c, SWT.WRAP);
        what.setText("Move VM " + model.vm.name() + " (" + model.vm.memoryMiB() + " MiB, "
                + model.vm.protectedProcesses() + " protected processes) from host " + model.vm.hostId() + " to:");
        GridDataFactory.fillDefaults().grab(true, false).applyTo(what);

        Composite tableBox = new Composite(c, SWT.NONE);
        TableColumnLayout layout = new TableColumnLayout();
        tableBox.setLayout(layout);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(tableBox);
        hosts = new TableViewer(tableBox, SWT.BORDER | SWT.SINGLE | SWT.FULL_SELECTION);
        UiIds.tag(hosts.getTable(), UiIds.WIZARD_HOSTS);
        hosts.getTable().setHeaderVisible(true);
        hosts.setContentProvider(ArrayContentProvider.getInstance());
        TableViewerColumn host = new TableViewerColumn(hosts, SWT.NONE);
        host.getColumn().setText("Host");
        layout.setColumnData(host.getColumn(), new ColumnWeightData(35, 140));
        host.setLabelProvider(new ColumnLabelProvider() {
            @Override
            public String getText(Object e) {
                return InventoryLabels.hostText((HostNode) e);
            }

            @Override
            public Image getImage(Object e) {
                return images.get(((HostNode) e).isReachable() ? Base.HOST : Base.HOST_OFFLINE, model
                        .compatibility(((HostNode) e).hostId()).allowed() ? Badge.PASS : Badge.FAIL);
            }
        });
        TableViewerColumn why = new TableViewerColumn(hosts, SWT.NONE);
        why.getColumn().setText("Can it take " + model.vm.name() + "?");
        layout.setColumnData(why.getColumn(), new ColumnWeightData(65, 200));
        why.setLabelProvider(new ColumnLabelProvider() {
            @Override
            public String getText(Object e) {
                Compatibility comp = model.compatibility(((HostNode) e).hostId());
                return comp.allowed() ? "yes" : "no: " + comp.reason();
            }

            @Override
            public String getToolTipText(Object e) {
                Compatibility comp = model.compatibility(((HostNode) e).hostId());
                return String.join("\n", comp.allowed() ? comp.warnings() : comp.refusals());
            }
        });
        hosts.addSelectionChangedListener(e -> {
            Object h = ((IStructuredSelection) e.getSelection()).getFirstElement();
            model.destination = h == null ? null : ((HostNode) h).hostId();
            validate();
        });
        c.addDisposeListener(e -> images.dispose());
        fill();
        setControl(c);
    }

    private void fill() {
        List<HostNode> others = model.inventory().hosts().stream()
                .filter(h -> !h.hostId().equals(model.vm.hostId())).toList();
        hosts.setInput(others);
        others.stream().filter(h -> h.hostId().equals(model.destination)).findFirst()
                .ifPresent(h -> hosts.setSelection(new StructuredSelection(h), true));
        validate();
    }

    @Override
    public void setVisible(boolean visible) {
        if (visible && hosts != null) {
            fill(); // the inventory may have changed while the person was on another page
        }
        super.setVisible(visible);
    }

    private void validate() {
        if (model.destination == null) {
            setErrorMessage(null);
            setMessage("Choose the host to move " + model.vm.name() + " to.");
            setPageComplete(false);
            return;
        }
        Compatibility c = model.compatibility(model.destination);
        if (!c.allowed()) {
            setErrorMessage(c.reason());
            setPageComplete(false);
            return;
        }
        setErrorMessage(null);
        if (c.warnings().isEmpty()) {
            setMessage("Host " + model.destination + " can take " + model.vm.name() + ".");
        } else {
            setMessage(c.warnings().get(0), WARNING);
        }
        setPageComplete(true);
    }
}
