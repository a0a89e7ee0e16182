package org.sealift.agent.cli;

import java.io.PrintStream;
import java.time.Clock;
import java.util.List;

import org.sealift.agent.lab.LabCommand;

/**
 * Entry point of the operator's commands in the agent jar: {@code migrate}, {@code verify}, {@code vms},
 * {@code hosts}, {@code in-doubt} and {@code lab}. The {@code sealift} script runs
 * {@code java -cp sealift-agent.jar org.sealift.agent.cli.ClientMain COMMAND ...}; {@code ca} and {@code agent} stay
 * with the jar's main class.
 */
public final class ClientMain {

    private ClientMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println("usage: ClientMain migrate|verify|vms|hosts|in-doubt|lab [options]");
            return ClientCommands.USAGE;
        }
        List<String> rest = List.of(args).subList(1, args.length);
        return switch (args[0]) {
            case "lab" -> new LabCommand(out, err).run(rest);
            case "migrate", "verify", "vms", "hosts", "in-doubt" ->
                new ClientCommands(out, err, Clock.systemUTC(), System.getenv()).run(args[0], rest);
            default -> {
                err.println("sealift: unknown command '" + args[0] + "'; use migrate, verify, vms, hosts, in-doubt"
                        + " or lab");
                yield ClientCommands.USAGE;
            }
        };
    }
}
