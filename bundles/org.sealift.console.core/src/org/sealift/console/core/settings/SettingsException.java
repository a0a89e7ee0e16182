package org.sealift.console.core.settings;

import java.util.List;

/** Settings could not be read or used; the message names every problem and its fix. */
public class SettingsException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public SettingsException(String message, List<String> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    public SettingsException(String message) {
        this(message, List.of(message));
    }

    public SettingsException(String message, Throwable cause) {
        super(message, cause);
        this.problems = List.of(message);
    }

    /** Each problem on its own, for a UI that lists them. */
    public List<String> problems() {
        return problems;
    }
}
