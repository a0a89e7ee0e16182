package org.sealift.agent;

import java.io.InputStream;
import java.io.PrintStream;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;

import org.sealift.agent.cli.AgentCommand;
import org.sealift.agent.cli.CaCommand;
import org.sealift.agent.cli.ClientMain;

/**
 * Entry point of the per-host agent jar. Subcommands are dispatched here so that the
 * {@code sealift} script can hand its arguments over unchanged.
 */
public final class Main {

    static final int EXIT_OK = 0;
    static final int EXIT_USAGE = 2;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err, System.in));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, InputStream.nullInputStream());
    }

    static int run(String[] args, PrintStream out, PrintStream err, InputStream in) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            usage(out);
            return EXIT_OK;
        }
        switch (args[0]) {
            case "ca":
                return new CaCommand(out, err, in, System.getenv(), Clock.systemUTC())
                        .run(List.of(args).subList(1, args.length));
            case "agent":
                return new AgentCommand(out, err, Clock.systemUTC()).run(List.of(args).subList(1, args.length));
            case "migrate":
            case "verify":
            case "vms":
            case "hosts":
            case "in-doubt":
            case "lab":
                return ClientMain.run(args, out, err);
            case "version":
            case "--version":
                out.println("sealift-agent " + version() + " (Java " + Runtime.version() + ")");
                return EXIT_OK;
            default:
                err.println("sealift-agent: unknown command '" + args[0] + "' (arguments: "
                        + String.join(" ", Arrays.copyOfRange(args, 1, args.length))
                        + "); run 'sealift-agent help' for the list of commands");
                return EXIT_USAGE;
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    private static void usage(PrintStream out) {
        out.println("usage: sealift-agent <command> [options]");
        out.println();
        out.println("commands:");
        out.println("  ca        the cluster PKI: init, sign-policy, enroll, fence (sealift-agent ca help)");
        out.println("  agent     run the agent daemon (sealift-agent agent --help)");
        out.println("  migrate   migrate a VM (--vm NAME --to HOST ...); exit 0 COMMITTED, 3 unreachable, 4 ABORTED, 5 REJECTED");
        out.println("  verify    verify attestation records and logs (FILE | --agent HOST | --lab)");
        out.println("  vms, hosts, in-doubt   quick looks at the agents");
        out.println("  lab       start or attach to the lab cluster (--no-console)");
        out.println("  version   print the agent version and the Java runtime it runs on");
        out.println("  help      this text");
    }
}
