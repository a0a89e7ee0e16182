package org.sealift.console.ui.inventory;

import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.widgets.Display;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.ui.util.ConsoleImages;
import org.sealift.console.ui.util.ConsoleImages.Badge;
import org.sealift.console.ui.util.ConsoleImages.Base;

/**
 * Text, icon, colour and tooltip of every inventory row: the state is in the icon's badge and repeated in words
 * (colour is never the only signal); the full measurement is in the tooltip.
 */
public final class InventoryLabels extends ColumnLabelProvider {

    private final InventoryTreeModel model;
    private final ConsoleImages images;
    private final Color dim;

    public InventoryLabels(InventoryTreeModel model, ConsoleImages images, Display display) {
        this.model = model;
        this.images = images;
        this.dim = display.getSystemColor(SWT.COLOR_DARK_GRAY);
    }

    @Override
    public String getText(Object element) {
        if (element instanceof InventoryKey.Host k) {
            HostNode h = model.host(k);
            return h == null ? k.hostId() : hostText(h);
        }
        if (element instanceof InventoryKey.Vm k) {
            VmNode v = model.vm(k);
            return v == null ? k.vmId() : vmText(v);
        }
        if (element instanceof InventoryKey.Process k) {
            ProtectedProcessNode p = model.process(k);
            return p == null ? "pid " + k.pid() : p.name() + " (pid " + p.pid() + ") \u2014 " + p.protectedPages()
                    + " protected pages";
        }
        if (element instanceof InventoryKey.Loading) {
            return "Loading\u2026";
        }
        return "";
    }

    public static String hostText(HostNode h) {
        return switch (h.reachability()) {
            case CONNECTING -> h.hostId() + " \u2014 connecting\u2026";
            case UNREACHABLE -> h.hostId() + " \u2014 unreachable";
            case REACHABLE -> h.hostId() + " \u2014 " + (h.attested() ? "attested" : "NOT attested") + ", "
                    + h.vmCount() + (h.vmCount() == 1 ? " VM" : " VMs");
        };
    }

    public static String vmText(VmNode v) {
        return v.name() + " \u2014 " + v.state().label() + (v.protectedProcesses() == 0 ? ""
                : ", " + v.protectedProcesses() + " protected");
    }

    @Override
    public Image getImage(Object element) {
        if (element instanceof InventoryKey.Host k) {
            HostNode h = model.host(k);
            if (h == null) {
                return images.get(Base.HOST, Badge.NONE);
            }
            return switch (h.reachability()) {
                case CONNECTING -> images.get(Base.HOST, Badge.CONNECTING);
                case UNREACHABLE -> images.get(Base.HOST_OFFLINE, Badge.UNREACHABLE);
                case REACHABLE -> images.get(Base.HOST, h.attested() ? Badge.ATTESTED : Badge.NOT_ATTESTED);
            };
        }
        if (element instanceof InventoryKey.Vm k) {
            VmNode v = model.vm(k);
            Badge b = v == null ? Badge.NONE : switch (v.state()) {
                case RUNNING -> Badge.RUNNING;
                case PAUSED -> Badge.PAUSED;
                case MIGRATING -> Badge.MIGRATING;
                case STOPPED -> Badge.STOPPED;
            };
            return images.get(Base.VM, b);
        }
        if (element instanceof InventoryKey.Process) {
            return images.get(Base.PROCESS, Badge.NONE);
        }
        return images.get(Base.LOADING, Badge.NONE);
    }

    @Override
    public Color getForeground(Object element) {
        if (element instanceof InventoryKey.Loading) {
            return dim;
        }
        if (element instanceof InventoryKey.Host k) {
            HostNode h = model.host(k);
            return h != null && !h.isReachable() ? dim : null;
        }
        return null;
    }

    @Override
    public String getToolTipText(Object element) {
        if (element instanceof InventoryKey.Host k) {
            HostNode h = model.host(k);
            return h == null ? null : hostTooltip(h);
        }
        if (element instanceof InventoryKey.Vm k) {
            VmNode v = model.vm(k);
            return v == null ? null : "VM " + v.name() + " (" + v.vmId() + ") is " + v.state().label() + " on host "
                    + v.hostId() + ".\n" + v.memoryMiB() + " MiB, " + v.vcpus() + " vCPUs, " + v.protectedProcesses()
                    + " protected processes.\nDrag it onto another host to migrate it.";
        }
        if (element instanceof InventoryKey.Process k) {
            ProtectedProcessNode p = model.process(k);
            return p == null ? null : "Protected process " + p.name() + " (pid " + p.pid() + "): the guest OS and dom0"
                    + " see only ciphertext of its " + p.protectedPages() + " protected pages.";
        }
        return null;
    }

    public static String hostTooltip(HostNode h) {
        return switch (h.reachability()) {
            case CONNECTING -> "Asking the agent of host " + h.hostId() + " at " + h.agent().address() + "\u2026";
            case UNREACHABLE -> "Host " + h.hostId() + " is unreachable: " + h.problem()
                    + "\nRight-click \u2192 Reconnect to ask its agent again.";
            case REACHABLE -> "Host " + h.hostId() + (h.attested() ? " is attested." : " is NOT attested.")
                    + "\nMeasurement: " + (h.measurement().isEmpty() ? "(none reported)" : h.measurement())
                    + "\nPolicy: " + (h.policy().isEmpty() ? "(none installed)" : h.policy())
                    + "\nBackend: " + h.backend() + " \u00b7 " + h.vcpus() + " CPUs \u00b7 " + h.freeMemoryMiB()
                    + " of " + h.memoryMiB() + " MiB free";
        };
    }

    @Override
    public int getToolTipDisplayDelayTime(Object object) {
        return 300;
    }
}
