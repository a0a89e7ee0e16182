package org.sealift.agent.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.PfnRange;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A VM's public configuration as JSON: the body of {@code POST /v1/vms} and what a source agent tells the destination
 * agent in a migration offer. Only the layout of protected processes is here (which pages they own), never their
 * contents or keys.
 *
 * @param name               1-63 of [A-Za-z0-9._-]
 * @param memoryMiB          guest memory
 * @param vcpus              vCPUs (default 1)
 * @param protectedProcesses processes the hypervisor protects, with the guest pages each owns
 * @param workload           what the guest keeps doing while it runs (sim backend; default idle)
 * @param start              create running (default true; {@code POST /v1/vms} only)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmSpec(String name, Integer memoryMiB, Integer vcpus, List<Process> protectedProcesses,
        Workload workload, Boolean start) {

    /** A protected process: either {@code firstPfn} + {@code pages} (one range) or {@code ranges}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Process(String name, Long firstPfn, Long pages, List<Range> ranges) {
    }

    public record Range(long first, long count) {
    }

    /**
     * The guest's workload (sim backend), in pages of 4 KiB (256 per MiB). Every field is optional; missing rates
     * are 0 (idle).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Workload(Integer fillPercent, Long workingSetPages, Long dirtyPagesPerSecond,
            Long protectedWorkingSetPages, Long protectedDirtyPagesPerSecond, Long seed, Long secretMarkerSeed) {
    }

    /**
     * The hypervisor's domain configuration for this spec.
     *
     * @throws IllegalArgumentException naming the field and the fix
     */
    public DomainConfig toDomainConfig() {
        if (name == null) {
            throw new IllegalArgumentException("field 'name' is missing: give the VM a name (1-63 letters, digits,"
                    + " '.', '_' or '-')");
        }
        if (memoryMiB == null) {
            throw new IllegalArgumentException("field 'memoryMiB' is missing: give the VM's memory in MiB");
        }
        List<ProtectedProcessSpec> procs = new ArrayList<>();
        if (protectedProcesses != null) {
            for (Process p : protectedProcesses) {
                if (p == null) {
                    throw new IllegalArgumentException("protectedProcesses contains null; give objects {\"name\","
                            + " \"firstPfn\", \"pages\"}");
                }
                List<PfnRange> ranges = new ArrayList<>();
                if (p.ranges() != null && (p.firstPfn() != null || p.pages() != null)) {
                    throw new IllegalArgumentException("protected process " + p.name() + ": give either 'ranges' or"
                            + " 'firstPfn' and 'pages', not both");
                }
                if (p.ranges() != null) {
                    for (Range r : p.ranges()) {
                        ranges.add(new PfnRange(r.first(), r.count()));
                    }
                } else if (p.firstPfn() != null && p.pages() != null) {
                    ranges.add(new PfnRange(p.firstPfn(), p.pages()));
                } else {
                    throw new IllegalArgumentException("protected process " + p.name() + ": give 'firstPfn' and"
                            + " 'pages' (the guest pages it owns)");
                }
                procs.add(new ProtectedProcessSpec(p.name(), ranges));
            }
        }
        Workload w = workload == null ? new Workload(null, null, null, null, null, null, null) : workload;
        WorkloadSpec ws = new WorkloadSpec(w.fillPercent() == null ? 50 : w.fillPercent(),
                orZero(w.workingSetPages()), orZero(w.dirtyPagesPerSecond()), orZero(w.protectedWorkingSetPages()),
                orZero(w.protectedDirtyPagesPerSecond()), w.seed() == null ? 1 : w.seed(),
                w.secretMarkerSeed() == null ? OptionalLong.empty() : OptionalLong.of(w.secretMarkerSeed()));
        return new DomainConfig(name, memoryMiB, vcpus == null ? 1 : vcpus, procs, ws);
    }

    private static long orZero(Long v) {
        return v == null ? 0 : v;
    }

    /** The spec of an existing domain (for the destination agent). */
    public static VmSpec of(DomainConfig c) {
        List<Process> procs = new ArrayList<>();
        for (ProtectedProcessSpec p : c.protectedProcesses()) {
            List<Range> ranges = new ArrayList<>();
            for (PfnRange r : p.ranges()) {
                ranges.add(new Range(r.first(), r.count()));
            }
            procs.add(new Process(p.name(), null, null, ranges));
        }
        WorkloadSpec w = c.workload();
        return new VmSpec(c.name(), c.memoryMiB(), c.vcpus(), procs,
                new Workload(w.fillPercent(), w.normalWorkingSetPages(), w.normalDirtyPagesPerSecond(),
                        w.protectedWorkingSetPages(), w.protectedDirtyPagesPerSecond(), w.seed(),
                        w.secretMarkerSeed().isPresent() ? w.secretMarkerSeed().getAsLong() : null),
                null);
    }
}
