package org.sealift.agent;

import java.io.PrintStream;
import java.util.Arrays;

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
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            usage(out);
            return EXIT_OK;
        }
        switch (args[0]) {
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
        out.println("  version   print the agent version and the Java runtime it runs on");
        out.println("  help      this text");
    }
}
