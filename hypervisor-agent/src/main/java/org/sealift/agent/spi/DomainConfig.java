package org.sealift.agent.spi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A domain to create: name (the VM id in protocol messages), memory, vCPUs, protected processes with their pages,
 * and the workload the guest runs.
 */
public record DomainConfig(String name, int memoryMiB, int vcpus, List<ProtectedProcessSpec> protectedProcesses,
        WorkloadSpec workload) {

    public static final int PAGE_SIZE = 4096;
    public static final int MAX_MEMORY_MIB = 64 * 1024;
    public static final int MAX_VCPUS = 64;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public DomainConfig {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("VM name \"" + name
                    + "\" is invalid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if (memoryMiB < 1 || memoryMiB > MAX_MEMORY_MIB) {
            throw new IllegalArgumentException("VM " + name + ": memory " + memoryMiB + " MiB is out of range: use 1 to "
                    + MAX_MEMORY_MIB + " MiB");
        }
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("VM " + name + ": " + vcpus + " vCPUs is out of range: use 1 to " + MAX_VCPUS);
        }
        protectedProcesses = List.copyOf(protectedProcesses);
        if (workload == null) {
            workload = WorkloadSpec.idle(0);
        }
        long pages = (long) memoryMiB * WorkloadSpec.PAGES_PER_MIB;
        List<PfnRange> seen = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (ProtectedProcessSpec p : protectedProcesses) {
            if (names.contains(p.name())) {
                throw new IllegalArgumentException("VM " + name + ": protected process " + p.name()
                        + " is listed twice; give each process once");
            }
            names.add(p.name());
            for (PfnRange r : p.ranges()) {
                if (r.end() > pages) {
                    throw new IllegalArgumentException("VM " + name + ": protected process " + p.name() + " range " + r
                            + " lies beyond the VM's " + pages + " pages; shrink the range or add memory");
                }
                for (PfnRange s : seen) {
                    if (s.overlaps(r)) {
                        throw new IllegalArgumentException("VM " + name + ": protected range " + r + " of " + p.name()
                                + " overlaps " + s + " of another process; a page belongs to one process");
                    }
                }
                seen.add(r);
            }
        }
    }

    /**
     * The VM id of protocol messages (docs/protocol.md §1.1): a name-based UUID, so that source and destination,
     * which know the VM by name, agree on it without another field.
     */
    public UUID vmId() {
        return UUID.nameUUIDFromBytes(("sealift-vm:" + name).getBytes(StandardCharsets.UTF_8));
    }

    public long pageCount() {
        return (long) memoryMiB * WorkloadSpec.PAGES_PER_MIB;
    }

    public boolean hasProtectedProcesses() {
        return !protectedProcesses.isEmpty();
    }

    public long protectedPageCount() {
        long n = 0;
        for (ProtectedProcessSpec p : protectedProcesses) {
            n += p.pageCount();
        }
        return n;
    }

    /** "vault, keys" for messages. */
    public String protectedProcessNames() {
        List<String> n = new ArrayList<>();
        for (ProtectedProcessSpec p : protectedProcesses) {
            n.add(p.name());
        }
        return String.join(", ", n);
    }
}
