package org.sealift.console.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.settings.SettingsException;
import org.sealift.console.core.settings.SettingsService;

/**
 * Settings in {@code console.properties} under the console home: the system property {@value #HOME_PROPERTY}, or
 * {@code ~/.sealift/console}. A file that cannot be read leaves the defaults in force and keeps the problem for
 * the Preferences part to show; it is never overwritten silently (only an explicit save writes).
 */
@Component(service = SettingsService.class)
public final class SettingsServiceImpl implements SettingsService {

    public static final String HOME_PROPERTY = "sealift.console.home";
    public static final String FILE_NAME = "console.properties";

    private final List<Consumer<ConsoleSettings>> listeners = new CopyOnWriteArrayList<>();
    private Path file;
    private volatile ConsoleSettings current = ConsoleSettings.DEFAULTS;
    private volatile SettingsException loadProblem;
    private final Map<String, String> env;
    /** lab.json as last read, with its modification time: effective() is asked per request by the agent client */
    private volatile CachedLab cachedLab;

    private record CachedLab(Path file, FileTime modified, Optional<LabConnection> lab) {
    }

    /** For DS: the folder comes from {@link #HOME_PROPERTY} at activation. */
    public SettingsServiceImpl() {
        this.env = System.getenv();
    }

    /** For tests and hand wiring. */
    public SettingsServiceImpl(Path folder) {
        this(folder, System.getenv());
    }

    /** For tests: {@code env} stands in for the process environment (SEALIFT_LAB_DIR). */
    public SettingsServiceImpl(Path folder, Map<String, String> env) {
        this.env = Map.copyOf(env);
        load(folder.resolve(FILE_NAME));
    }

    @Activate
    void activate() {
        String home = System.getProperty(HOME_PROPERTY);
        Path folder = home != null && !home.isBlank() ? Path.of(home)
                : Path.of(System.getProperty("user.home"), ".sealift", "console");
        load(folder.resolve(FILE_NAME));
    }

    private void load(Path f) {
        file = f;
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
            current = ConsoleSettings.fromProperties(p, f.toString());
            loadProblem = null;
        } catch (NoSuchFileException e) {
            current = ConsoleSettings.DEFAULTS;
        } catch (IOException | IllegalArgumentException e) {
            loadProblem = new SettingsException("cannot read console settings " + f + ": " + e.getMessage()
                    + "; fix or delete the file, or save new settings in Preferences", e);
        } catch (SettingsException e) {
            loadProblem = e;
        }
    }

    @Override
    public ConsoleSettings current() {
        return current;
    }

    @Override
    public ConsoleSettings effective() {
        ConsoleSettings s = current;
        return lab().map(l -> l.fill(s)).orElse(s);
    }

    @Override
    public Optional<LabConnection> lab() {
        if (!current.agents().isEmpty()) {
            return Optional.empty();
        }
        Optional<Path> dir = LabConnection.configuredDir(env);
        if (dir.isEmpty()) {
            return Optional.empty();
        }
        Path f = dir.get().resolve(LabConnection.FILE);
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(f);
        } catch (IOException e) {
            return Optional.empty();
        }
        CachedLab c = cachedLab;
        if (c == null || !c.file.equals(f) || !c.modified.equals(modified)) {
            c = new CachedLab(f, modified, LabConnection.find(Map.of(LabConnection.ENV, dir.get().toString())));
            cachedLab = c;
        }
        return c.lab;
    }

    @Override
    public SettingsException loadProblem() {
        return loadProblem;
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public synchronized void save(ConsoleSettings settings) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + FILE_NAME, ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                settings.toProperties().store(out, "Sealift console settings (written by the console's Preferences)");
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        current = settings;
        loadProblem = null;
        for (Consumer<ConsoleSettings> l : listeners) {
            l.accept(settings);
        }
    }

    @Override
    public void addListener(Consumer<ConsoleSettings> listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(Consumer<ConsoleSettings> listener) {
        listeners.remove(listener);
    }
}
