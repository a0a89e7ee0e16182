package org.sealift.console.core.migration;

import java.util.ArrayList;
import java.util.List;

import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.Reachability;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.model.MigrationMode;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Policy;

/**
 * The console's own checks before it asks an agent to migrate (the hypervisors check attestation and policy again
 * during the handshake; these checks exist so a person sees the reason before anything is sent). Pure function of
 * its inputs, so it can run on every drag-over event.
 */
public final class CompatibilityRules {

    private CompatibilityRules() {
    }

    /**
     * @param vm          the VM to move
     * @param source      the host it runs on
     * @param destination the host it would move to
     * @param policy      the verified cluster policy, or null when none is configured in Preferences
     * @param mode        the mode the migration would use
     */
    public static Compatibility check(VmNode vm, HostNode source, HostNode destination, Policy policy,
            MigrationMode mode) {
        List<String> refusals = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        String dst = destination.hostId();
        if (dst.equals(source.hostId()) || dst.equals(vm.hostId())) {
            refusals.add("VM " + vm.name() + " already runs on host " + dst + ": drop it on another host");
            return new Compatibility(refusals, warnings);
        }
        switch (vm.state()) {
            case MIGRATING -> refusals.add("VM " + vm.name() + " is already migrating: wait until that migration"
                    + " has ended");
            case STOPPED -> refusals.add("VM " + vm.name() + " is stopped: live migration moves a running or paused"
                    + " VM; start it first");
            default -> {
            }
        }
        if (!source.isReachable()) {
            refusals.add("the VM's host " + source.hostId() + " is " + describe(source)
                    + ": its agent runs the migration; reconnect it first");
        }
        if (destination.reachability() != Reachability.REACHABLE) {
            refusals.add("host " + dst + " is " + describe(destination) + ": reconnect it or pick another host");
            return new Compatibility(refusals, warnings);
        }
        if (!destination.attested()) {
            String notAttested = notAttestedReason(destination, policy);
            if (mode == MigrationMode.SECURE) {
                refusals.add(notAttested);
            } else {
                warnings.add(notAttested + " (plain mode does not need attestation)");
            }
        }
        if (policy != null) {
            try {
                policy.checkReceive(dst, vm.vmId());
            } catch (ProtocolException e) {
                refusals.add(e.getMessage());
            }
        } else {
            warnings.add("no cluster policy is set in Preferences, so the console cannot check whether host " + dst
                    + " may receive VM " + vm.name() + "; the hypervisors check it during the handshake");
        }
        if (destination.freeMemoryMiB() < vm.memoryMiB()) {
            refusals.add("host " + dst + " has " + destination.freeMemoryMiB() + " MiB free, VM " + vm.name()
                    + " needs " + vm.memoryMiB() + " MiB: free memory on " + dst + " or pick another host");
        }
        if (mode == MigrationMode.PLAIN && vm.protectedProcesses() > 0) {
            refusals.add("VM " + vm.name() + " has " + vm.protectedProcesses() + " protected process"
                    + (vm.protectedProcesses() == 1 ? "" : "es") + ": plain mode would hand their memory to dom0;"
                    + " use secure mode");
        }
        if (!"ok".equals(destination.health()) && !destination.health().isEmpty()) {
            warnings.add("host " + dst + " reports health '" + destination.health() + "'"
                    + (destination.healthProblems().isEmpty() ? "" : ": " + String.join("; ",
                            destination.healthProblems())));
        }
        return new Compatibility(refusals, warnings);
    }

    private static String describe(HostNode h) {
        return switch (h.reachability()) {
            case CONNECTING -> "still connecting";
            case UNREACHABLE -> "unreachable (" + h.problem() + ")";
            case REACHABLE -> "reachable";
        };
    }

    private static String notAttestedReason(HostNode h, Policy policy) {
        String id = h.hostId();
        if (h.measurement().isEmpty()) {
            return "host " + id + " is not attested: its agent reports no hypervisor measurement; check that the"
                    + " hypervisor on " + id + " runs and has an AK certificate";
        }
        String m = h.measurementShort();
        if (policy != null) {
            try {
                if (!policy.allowsMeasurement(Hex.decode(h.measurement()))) {
                    return "host " + id + " is not attested: measurement " + m + " is not in " + policy.describe()
                            + "; update its hypervisor or add the measurement to a new policy";
                }
            } catch (IllegalArgumentException e) {
                return "host " + id + " is not attested: its agent reports a malformed measurement '"
                        + h.measurement() + "'";
            }
        }
        return "host " + id + " is not attested: its agent reports measurement " + m
                + (h.policy().isEmpty() ? " and no installed policy; install the cluster policy on " + id
                        : ", which " + h.policy() + " does not accept; update its hypervisor or the policy");
    }
}
