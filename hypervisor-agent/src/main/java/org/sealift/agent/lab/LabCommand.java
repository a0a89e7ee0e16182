package org.sealift.agent.lab;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.sealift.agent.cli.AgentClient;
import org.sealift.agent.tls.TlsCredentials;

/**
 * {@code sealift-agent lab [--dir DIR] [--stop] [--no-rogue] [--no-vms]}: starts the lab cluster and keeps it
 * running until Ctrl-C (or SIGTERM, or {@code lab --stop}), then stops every process it started. If a lab already
 * runs in the folder, it prints that lab's agents and exits, leaving it running. Output on standard output: one line
 * {@code lab folder DIR}, one line per agent {@code agent h1 https://127.0.0.1:PORT}, then {@code lab ready}.
 * Exit codes: 0 stopped (or attached), 1 could not start, 2 usage.
 */
public final class LabCommand {

    private final PrintStream out;
    private final PrintStream err;

    public LabCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    static void usage(PrintStream out) {
        out.println("usage: sealift lab [--no-console] [--dir DIR] [--no-rogue] [--no-vms] | --stop [--dir DIR]");
        out.println();
        out.println("  starts hosts h1, h2, h3 (simulated hypervisor + agent each, on loopback) with a fresh lab CA,");
        out.println("  demo VMs (web-01; db-01 with protected process vault; ci-runner) and a rogue host h4 whose");
        out.println("  hypervisor build is not in the lab policy. Ctrl-C stops everything. A second 'lab' attaches.");
        out.println("  --dir DIR    the lab folder (default $SEALIFT_LAB_DIR or ./.sealift/lab)");
        out.println("  --stop       stop the lab running in the folder");
        out.println("  --no-rogue   without h4;  --no-vms   without the demo VMs");
        out.println("  The lab's control API (printed as 'control URL', also in lab.json) crashes and restarts lab");
        out.println("  hosts for exercises: see docs/api.md, 'Lab control'.");
    }

    public int run(List<String> args) {
        Path dir = LabInfo.defaultDir();
        boolean stop = false;
        // a trainee crashing a destination after RELEASE (the console's crash scenario) needs time to press the
        // button before that destination gives its verified copy up at its READY deadline
        Lab.Options options = Lab.Options.defaults().with("migration.ready-deadline-ms", "30000");
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "--dir" -> {
                    if (i + 1 >= args.size()) {
                        err.println("sealift lab: --dir needs a folder");
                        return 2;
                    }
                    dir = Path.of(args.get(++i)).toAbsolutePath().normalize();
                }
                case "--stop" -> stop = true;
                case "--no-rogue" -> options = options.withoutRogue();
                case "--no-vms" -> options = options.withoutDemoVms();
                case "--no-console" -> {
                    // the console is started by the sealift script, not by the agent jar
                }
                case "--help", "help" -> {
                    usage(out);
                    return 0;
                }
                default -> {
                    err.println("sealift lab: unknown option '" + args.get(i) + "'");
                    usage(err);
                    return 2;
                }
            }
        }
        Optional<LabInfo> running = LabInfo.read(dir).filter(LabCommand::reachable);
        if (stop) {
            return stop(dir, running);
        }
        if (running.isPresent()) {
            LabInfo info = running.get();
            err.println("sealift lab: a lab already runs in " + dir + " (started by process " + info.labPid()
                    + "); attaching to it instead of starting another");
            print(info);
            return 0;
        }
        Lab lab;
        try {
            lab = Lab.start(dir, options, err);
        } catch (Lab.LabException e) {
            err.println("sealift lab: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            err.println("sealift lab: stopping the lab (agents, then hypervisors)");
            lab.close();
            err.println("sealift lab: stopped");
            stopped.countDown();
        }, "lab-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        print(lab.info());
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private void print(LabInfo info) {
        out.println("lab folder " + info.dir());
        for (LabInfo.Agent a : info.agents()) {
            out.println("agent " + a.host() + " " + a.api() + (a.rogue()
                    ? " (rogue: its hypervisor build is not in the lab policy)" : ""));
        }
        if (info.control() != null) {
            out.println("control " + info.control());
        }
        out.println("lab ready");
        out.flush();
    }

    private int stop(Path dir, Optional<LabInfo> running) {
        Optional<LabInfo> info = running.or(() -> LabInfo.read(dir));
        if (info.isEmpty()) {
            err.println("sealift lab: no lab runs in " + dir);
            return 0;
        }
        Optional<ProcessHandle> owner = ProcessHandle.of(info.get().labPid());
        if (owner.isPresent() && owner.get().isAlive() && owner.get().pid() != ProcessHandle.current().pid()) {
            owner.get().destroy();
            try {
                owner.get().onExit().get(90, TimeUnit.SECONDS);
            } catch (Exception e) {
                err.println("sealift lab: the lab process " + info.get().labPid() + " did not stop within 90 s");
                return 1;
            }
        } else {
            Lab.stopLeftovers(info.get(), err);
        }
        out.println("lab stopped");
        return 0;
    }

    /** A lab counts as running if its first agent answers. */
    static boolean reachable(LabInfo info) {
        try {
            TlsCredentials op = TlsCredentials.load(Path.of(info.operator().cert()), Path.of(info.operator().key()),
                    Path.of(info.operator().ca()), Clock.systemUTC());
            LabInfo.Agent a = info.agents().get(0);
            new AgentClient(a.host(), URI.create(a.api()), op, Clock.systemUTC()).get("/v1/host");
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
