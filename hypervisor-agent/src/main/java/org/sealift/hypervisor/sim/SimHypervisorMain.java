package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The simulated hypervisor of one host as its own process, beside dom0's agent (as Xen runs beside dom0):
 *
 * <pre>
 * java -cp sealift-agent.jar org.sealift.hypervisor.sim.SimHypervisorMain --host-id h1 --state-dir DIR
 *      [--socket PATH] [--hardware-dir DIR] [--memory-dir DIR] [--vendor-dir DIR] [--diagnostics]
 * </pre>
 *
 * <ul>
 * <li>{@code --state-dir}: dom0-visible storage: the sealed decision state, pid file, log.</li>
 * <li>{@code --socket}: the privileged socket (default {@code <state-dir>/hypervisor.sock}, mode 0600).</li>
 * <li>{@code --hardware-dir}: the simulated hardware (EK, AK, state key, monotonic counter, pinned CA; default
 * {@code <state-dir>/hardware}, mode 0700). dom0 must never touch it: it models TPM and firmware.</li>
 * <li>{@code --memory-dir}: guest memory files (default {@code /dev/shm/sealift} where /dev/shm exists).</li>
 * <li>{@code --vendor-dir}: the simulated hardware vendor's root key, read only the first time, to "manufacture"
 * the host's endorsement key. Keep it apart from dom0's configuration.</li>
 * <li>{@code --diagnostics}: test-only digests of protected memory; part of the measurement, so no production
 * policy admits such a hypervisor.</li>
 * </ul>
 * It prints "sealift-hypervisor h1 ready on PATH" once the socket accepts calls and runs until SIGTERM or a
 * SHUTDOWN call. It keeps running when the agent that started it exits or crashes.
 */
public final class SimHypervisorMain {

    public static final String PID_FILE = "hypervisor.pid";
    public static final String SOCKET_FILE = "hypervisor.sock";

    private SimHypervisorMain() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String hostId = null;
        Path stateDir = null;
        Path socket = null;
        Path hardware = null;
        Path memory = null;
        Path vendor = null;
        boolean diagnostics = false;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--host-id" -> hostId = args[++i];
                    case "--state-dir" -> stateDir = Path.of(args[++i]);
                    case "--socket" -> socket = Path.of(args[++i]);
                    case "--hardware-dir" -> hardware = Path.of(args[++i]);
                    case "--memory-dir" -> memory = Path.of(args[++i]);
                    case "--vendor-dir" -> vendor = Path.of(args[++i]);
                    case "--diagnostics" -> diagnostics = true;
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
        } catch (ArrayIndexOutOfBoundsException | IllegalArgumentException e) {
            err.println("sealift-hypervisor: " + (e instanceof ArrayIndexOutOfBoundsException
                    ? "option " + args[args.length - 1] + " needs a value" : e.getMessage())
                    + "; usage: --host-id ID --state-dir DIR [--socket PATH] [--hardware-dir DIR] [--memory-dir DIR]"
                    + " [--vendor-dir DIR] [--diagnostics]");
            return 2;
        }
        if (hostId == null || stateDir == null) {
            err.println("sealift-hypervisor: --host-id and --state-dir are required");
            return 2;
        }
        socket = socket != null ? socket : stateDir.resolve(SOCKET_FILE);
        hardware = hardware != null ? hardware : stateDir.resolve("hardware");
        memory = memory != null ? memory : defaultMemoryDir(stateDir);
        SimHypervisor hv;
        HypervisorServer server;
        CountDownLatch stopped = new CountDownLatch(1);
        try {
            Files.createDirectories(stateDir);
            hv = SimHypervisor.boot(hostId, stateDir, hardware, memory, Optional.ofNullable(vendor), diagnostics);
        } catch (IOException | RuntimeException e) {
            err.println("sealift-hypervisor: cannot boot host " + hostId + ": " + e.getMessage());
            return 1;
        }
        SimHypervisor h = hv;
        Runnable shutdown = () -> {
            if (stopped.getCount() > 0) {
                stopped.countDown();
            }
        };
        try {
            server = new HypervisorServer(hv, socket, shutdown);
            Files.writeString(stateDir.resolve(PID_FILE), ProcessHandle.current().pid() + "\n",
                    StandardCharsets.US_ASCII);
        } catch (IOException e) {
            err.println("sealift-hypervisor: cannot open the privileged socket " + socket + ": " + e.getMessage());
            hv.close();
            return 1;
        }
        HypervisorServer s = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s.close();
            h.close();
        }, "hypervisor-exit"));
        server.start();
        out.println("sealift-hypervisor " + hostId + " ready on " + socket);
        out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
        return 0;
    }

    static Path defaultMemoryDir(Path stateDir) {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return shm.resolve("sealift");
        }
        return stateDir.resolve("memory");
    }
}
