package org.sealift.agent.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A small, strict command-line parser: {@code --flag value}, {@code --flag=value}, repeated flags, boolean flags
 * and positional arguments. An unknown flag is an error that lists the known ones, so a typo never silently turns
 * into a default.
 */
final class Args {

    private final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> positionals = new ArrayList<>();

    /**
     * @param command      for messages: "sealift ca enroll"
     * @param valueFlags   flags that take a value ("--host")
     * @param booleanFlags flags that take none ("--yes-i-understand")
     */
    Args(String command, List<String> args, Set<String> valueFlags, Set<String> booleanFlags)
            throws UsageException {
        this.command = command;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                positionals.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (!a.startsWith("--") || a.length() == 2) {
                positionals.add(a);
                continue;
            }
            String name = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            if (booleanFlags.contains(name)) {
                if (inline != null) {
                    throw new UsageException(command + ": " + name + " takes no value");
                }
                values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (valueFlags.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException(command + ": " + name + " needs a value");
                    }
                    v = args.get(++i);
                }
                values.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
            } else {
                List<String> known = new ArrayList<>(valueFlags);
                known.addAll(booleanFlags);
                known.sort(null);
                throw new UsageException(command + ": unknown option " + name + "; known options: "
                        + String.join(" ", known));
            }
        }
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    /** The single value of {@code flag}; an error if it was given twice. */
    Optional<String> value(String flag) throws UsageException {
        List<String> v = values.get(flag);
        if (v == null) {
            return Optional.empty();
        }
        if (v.size() > 1) {
            throw new UsageException(command + ": " + flag + " is given " + v.size() + " times; give it once");
        }
        return Optional.of(v.get(0));
    }

    String required(String flag, String what) throws UsageException {
        return value(flag).orElseThrow(() -> new UsageException(command + ": " + flag + " is required (" + what
                + ")"));
    }

    List<String> values(String flag) {
        return values.getOrDefault(flag, List.of());
    }

    /** Whole number within bounds, or the default. */
    long number(String flag, long defaultValue, long min, long max) throws UsageException {
        Optional<String> v = value(flag);
        if (v.isEmpty()) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(v.get());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": " + flag + " is '" + v.get() + "'; use a whole number from " + min
                    + " to " + max);
        }
    }

    List<String> positionals() {
        return positionals;
    }

    /** Exactly {@code n} positional arguments named in {@code names}. */
    void expectPositionals(int n, String names) throws UsageException {
        if (positionals.size() != n) {
            throw new UsageException(command + ": expected " + (n == 0 ? "no arguments" : names) + ", got "
                    + (positionals.isEmpty() ? "none" : String.join(" ", positionals)));
        }
    }
}
