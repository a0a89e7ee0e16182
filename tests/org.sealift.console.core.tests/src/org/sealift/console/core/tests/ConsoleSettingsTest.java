package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsException;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

class ConsoleSettingsTest {

    @TempDir
    Path dir;

    @Test
    void settingsSurviveASaveAndALoad() throws Exception {
        Path cert = Files.writeString(dir.resolve("op.crt"), "x");
        Path key = Files.writeString(dir.resolve("op.key"), "x");
        ConsoleSettings s = ConsoleSettings.DEFAULTS
                .withAgents(List.of(AgentRef.parse("h1", "https://10.0.0.11:7443"),
                        AgentRef.parse("h2", "https://10.0.0.12:7443")))
                .withOperator(cert, key)
                .withDefaults(MigrationOptions.defaults(MigrationMode.PLAIN).withMaxRounds(12).withBandwidthMiBps(200));
        SettingsServiceImpl store = new SettingsServiceImpl(dir);
        store.save(s);
        SettingsServiceImpl again = new SettingsServiceImpl(dir);
        assertNull(again.loadProblem());
        assertEquals(s, again.current());
        assertEquals(List.of(), again.current().problems());
    }

    @Test
    void everyMistakeInTheFileIsNamedAtOnce() {
        Properties p = new Properties();
        p.setProperty("agent.1.name", "h1");
        p.setProperty("agent.1.address", "http://10.0.0.11:7443");
        p.setProperty("agent.x.name", "h2");
        p.setProperty("defaults.maxRounds", "many");
        p.setProperty("defaults.mode", "fast");
        SettingsException e = assertThrows(SettingsException.class,
                () -> ConsoleSettings.fromProperties(p, "console.properties"));
        assertEquals(4, e.problems().size(), e.getMessage());
        assertTrue(e.problems().contains("agent.1: agent h1: address http://10.0.0.11:7443 is not an https:// URL"
                + " with a host; the management API only speaks HTTPS (mutual TLS), e.g. https://10.0.0.11:7443"),
                e.problems().toString());
        assertTrue(e.problems().contains("defaults.maxRounds: 'many' is not a whole number"));
        assertTrue(e.problems().contains("defaults.mode: unknown migration mode 'fast': use 'secure' or 'plain'"));
    }

    @Test
    void problemsNameMissingFilesAndDuplicateAgents() {
        ConsoleSettings s = ConsoleSettings.DEFAULTS
                .withAgents(List.of(AgentRef.parse("h1", "https://a:1"), AgentRef.parse("h1", "https://b:1")))
                .withOperator(dir.resolve("missing.crt"), null);
        List<String> problems = s.problems();
        assertTrue(problems.contains("agent h1 is listed twice: each host appears once; remove one entry"), problems
                .toString());
        assertTrue(problems.contains("the operator certificate and key go together: set both or neither"));
        assertTrue(problems.stream().anyMatch(x -> x.startsWith("operator certificate " + dir.resolve("missing.crt")
                + " is not a file")));
    }

    @Test
    void anUnreadableFileLeavesTheDefaultsAndKeepsTheProblemForPreferences() throws Exception {
        Files.writeString(dir.resolve(SettingsServiceImpl.FILE_NAME), "defaults.maxRounds=0\n");
        SettingsServiceImpl store = new SettingsServiceImpl(dir);
        assertEquals(ConsoleSettings.DEFAULTS, store.current());
        assertTrue(store.loadProblem().getMessage().contains("max rounds 0 is out of range: use 1 to 1000"),
                store.loadProblem().getMessage());
    }
}
