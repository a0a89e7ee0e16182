package org.sealift.agent.config;

import java.util.List;

/** The agent configuration cannot be used; lists every problem (key, where it came from, the fix) at once. */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(format(problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }

    private static String format(List<String> problems) {
        if (problems.size() == 1) {
            return "agent configuration: " + problems.get(0);
        }
        StringBuilder sb = new StringBuilder("agent configuration has " + problems.size() + " problems:");
        for (String p : problems) {
            sb.append("\n  - ").append(p);
        }
        return sb.toString();
    }
}
