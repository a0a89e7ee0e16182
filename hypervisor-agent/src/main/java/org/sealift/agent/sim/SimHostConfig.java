package org.sealift.agent.sim;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a simulated host lives and how its hypervisor process is started.
 *
 * @param hostId      the host id (CN of its EK and AK certificates)
 * @param stateDir    dom0-visible storage of the hypervisor: sealed state, pid file, log
 * @param socket      the privileged socket
 * @param hardwareDir the simulated hardware (default {@code <stateDir>/hardware}); dom0 never touches it
 * @param memoryDir   where guest memory files go (default /dev/shm/sealift, else {@code <stateDir>/memory})
 * @param vendorDir   the simulated hardware vendor's directory, used once to manufacture the host's EK; keep it out
 *                    of the agent's configuration
 * @param diagnostics start the hypervisor with test diagnostics (changes its measurement)
 * @param jvmOptions  options for the hypervisor's JVM
 * @param startTimeout how long to wait for a started hypervisor to accept calls
 */
public record SimHostConfig(String hostId, Path stateDir, Path socket, Optional<Path> hardwareDir,
        Optional<Path> memoryDir, Optional<Path> vendorDir, boolean diagnostics, List<String> jvmOptions,
        Duration startTimeout) {

    /**
     * Guest memory and the sealed-page slots of a migration are shared files and protected plaintext lives off-heap;
     * the heap holds metadata (tens of bytes per protected page) and the requests in flight. The heap is only committed
     * as it is used.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx4g", "-XX:MaxDirectMemorySize=32g");

    public SimHostConfig {
        jvmOptions = List.copyOf(jvmOptions);
    }

    /** A host under {@code stateDir} with its socket there, the vendor in {@code vendorDir}. */
    public static SimHostConfig of(String hostId, Path stateDir, Path vendorDir) {
        return new SimHostConfig(hostId, stateDir, stateDir.resolve("hypervisor.sock"), Optional.empty(),
                Optional.empty(), Optional.of(vendorDir), false, DEFAULT_JVM_OPTIONS, Duration.ofSeconds(60));
    }

    public SimHostConfig withDiagnostics(boolean on) {
        return new SimHostConfig(hostId, stateDir, socket, hardwareDir, memoryDir, vendorDir, on, jvmOptions,
                startTimeout);
    }

    public SimHostConfig withMemoryDir(Path dir) {
        return new SimHostConfig(hostId, stateDir, socket, hardwareDir, Optional.of(dir), vendorDir, diagnostics,
                jvmOptions, startTimeout);
    }

    public SimHostConfig withJvmOptions(List<String> options) {
        return new SimHostConfig(hostId, stateDir, socket, hardwareDir, memoryDir, vendorDir, diagnostics, options,
                startTimeout);
    }

    /** The hypervisor's command-line arguments. */
    List<String> arguments() {
        List<String> a = new ArrayList<>(List.of("--host-id", hostId, "--state-dir", stateDir.toString(), "--socket",
                socket.toString()));
        hardwareDir.ifPresent(p -> a.addAll(List.of("--hardware-dir", p.toString())));
        memoryDir.ifPresent(p -> a.addAll(List.of("--memory-dir", p.toString())));
        vendorDir.ifPresent(p -> a.addAll(List.of("--vendor-dir", p.toString())));
        if (diagnostics) {
            a.add("--diagnostics");
        }
        return a;
    }
}
