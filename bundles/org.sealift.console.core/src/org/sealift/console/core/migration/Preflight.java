package org.sealift.console.core.migration;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.OperationCanceledException;
import org.eclipse.core.runtime.SubMonitor;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.VmNode;

/**
 * The pre-flight checks of the migration wizard: the console's own (VM and hosts known and reachable,
 * compatibility, attestation, policy, memory, mode) and then the agents' dry run through the
 * {@link MigrationService}. The wizard runs this through its container, a job could run it too: it only reports
 * progress and honours cancellation through the monitor.
 */
public final class Preflight {

    private Preflight() {
    }

    /**
     * @param service null when no agent client is installed: that is a failed check, not an error
     * @throws OperationCanceledException if the monitor was cancelled
     */
    public static List<CheckResult> run(MigrationRequest request, InventorySnapshot inventory,
            CompatibilityService compatibility, MigrationService service, IProgressMonitor monitor) {
        SubMonitor sub = SubMonitor.convert(monitor, "Checking the migration of " + request.describe(), 4);
        List<CheckResult> out = new ArrayList<>();

        sub.subTask("VM and hosts");
        Optional<VmNode> vm = inventory.vm(request.sourceHostId(), request.vmId());
        Optional<HostNode> dst = inventory.host(request.destinationHostId());
        if (vm.isEmpty()) {
            out.add(CheckResult.fail("VM", "VM " + request.vmName() + " is not listed on host "
                    + request.sourceHostId() + " any more: refresh the inventory"));
        } else {
            out.add(CheckResult.pass("VM", "VM " + vm.get().name() + " (" + vm.get().state().label() + ", "
                    + vm.get().memoryMiB() + " MiB, " + vm.get().protectedProcesses() + " protected processes)"));
        }
        dst.ifPresent(h -> out.add(h.attested()
                ? CheckResult.pass("destination attested", "host " + h.hostId() + " is attested, measurement "
                        + h.measurementShort() + (h.policy().isEmpty() ? "" : " under " + h.policy()))
                : CheckResult.fail("destination attested", "host " + h.hostId() + " is not attested")));
        sub.worked(1);
        checkCanceled(sub);

        sub.subTask("compatibility and policy");
        Compatibility c = compatibility.check(inventory, request.sourceHostId(), request.vmId(),
                request.destinationHostId(), request.options().mode());
        if (c.allowed()) {
            out.add(CheckResult.pass("compatibility", "host " + request.destinationHostId() + " can take VM "
                    + request.vmName() + " (" + request.options().mode() + " mode)"));
        }
        c.refusals().forEach(r -> out.add(CheckResult.fail("compatibility", r)));
        c.warnings().forEach(w -> out.add(CheckResult.warn("compatibility", w)));
        sub.worked(1);
        checkCanceled(sub);

        sub.subTask("agent client");
        if (service == null) {
            out.add(CheckResult.fail("agent client", "the console's agent client is not installed, so it cannot"
                    + " start migrations yet; start this one on the source host with 'sealift migrate'"));
            sub.worked(2);
            return out;
        }
        sub.worked(1);

        sub.subTask("agents' dry run");
        if (out.stream().anyMatch(r -> r.verdict() == CheckResult.Verdict.FAIL)) {
            out.add(CheckResult.warn("agents' dry run", "skipped: fix the failed checks first"));
            return out;
        }
        try {
            out.addAll(service.preflight(request, sub.split(1)));
        } catch (MigrationException e) {
            out.add(CheckResult.fail("agents' dry run", e.getMessage()));
        }
        return out;
    }

    private static void checkCanceled(IProgressMonitor m) {
        if (m.isCanceled()) {
            throw new OperationCanceledException("pre-flight checks cancelled");
        }
    }

    /** True if no check failed. */
    public static boolean passed(List<CheckResult> results) {
        return !results.isEmpty() && results.stream().noneMatch(r -> r.verdict() == CheckResult.Verdict.FAIL);
    }
}
