package org.sealift.console.core.lab.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The lab's demo VMs as {@code POST /v1/vms} bodies, the same the agent's lab creates when it starts: web-01 and
 * db-01 (protected process "vault") on h1, ci-runner with a busy working set on h2, rogue-01 on the rogue host.
 */
final class DemoVms {

    private DemoVms() {
    }

    static List<Map<String, Object>> of(String host, boolean rogue) {
        if (rogue) {
            return List.of(vm("rogue-01", 16, "vault", 1024, 256, 64, 100, 0, 0));
        }
        return switch (host) {
            case "h1" -> List.of(vm("web-01", 32, null, 0, 0, 256, 500, 0, 0),
                    vm("db-01", 32, "vault", 2048, 1024, 256, 500, 64, 200));
            case "h2" -> List.of(vm("ci-runner", 64, null, 0, 0, 2048, 4000, 0, 0));
            default -> List.of();
        };
    }

    private static Map<String, Object> vm(String name, int mib, String process, long firstPfn, long pages,
            long wsPages, long rate, long protWs, long protRate) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", name);
        body.put("memoryMiB", mib);
        body.put("vcpus", 1);
        if (process != null) {
            body.put("protectedProcesses", List.of(Map.of("name", process, "firstPfn", firstPfn, "pages", pages)));
        }
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("fillPercent", 50);
        w.put("workingSetPages", wsPages);
        w.put("dirtyPagesPerSecond", rate);
        if (protWs > 0) {
            w.put("protectedWorkingSetPages", protWs);
            w.put("protectedDirtyPagesPerSecond", protRate);
        }
        body.put("workload", w);
        return body;
    }
}
