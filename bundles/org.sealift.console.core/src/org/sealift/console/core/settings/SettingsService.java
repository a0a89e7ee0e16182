package org.sealift.console.core.settings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/** Keeps the console settings in a file and tells listeners (on the saving thread) when they change. */
public interface SettingsService {

    /** The settings in force (the defaults if the file does not exist or could not be read). */
    ConsoleSettings current();

    /**
     * The settings the console connects and verifies with: {@link #current()}, except that when no agents are
     * configured and {@code SEALIFT_LAB_DIR} names a lab folder, the lab's agents with the lab's operator identity
     * and trust material ({@link LabConnection#fill}). Never saved: Preferences edit {@link #current()}.
     */
    default ConsoleSettings effective() {
        return current();
    }

    /** The lab that {@link #effective()} takes agents and credentials from, if any. */
    default Optional<LabConnection> lab() {
        return Optional.empty();
    }

    /** Why the settings file could not be read, or null; the console then runs with the defaults. */
    SettingsException loadProblem();

    /** Writes the settings (atomically) and makes them current. */
    void save(ConsoleSettings settings) throws IOException;

    /** The file the settings live in. */
    Path file();

    void addListener(Consumer<ConsoleSettings> listener);

    void removeListener(Consumer<ConsoleSettings> listener);
}
