package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.ui.parts.PreferencesPart;
import org.sealift.console.ui.util.UiIds;

/**
 * Preferences follow settings saved elsewhere (another window, the lab picking up its agents) while the form is
 * untouched, and keep a person's unsaved edits when it is not: the message says so and Revert loads the new ones.
 * Typing and clicks are real input.
 */
class PreferencesUiTest {

    @Test
    void settingsSavedElsewhereShowUpUnlessTheFormHoldsEditsWhichAreKeptUntilRevert() throws Exception {
        try (ConsoleHarness h = new ConsoleHarness(null, null, "Sealift preferences test")) {
            h.part(PreferencesPart.class, h.shell);
            h.shell.setBounds(0, 0, 1260, 1000); // the whole form on screen, Save and Revert included
            h.open();
            UiRobot.drive(h.display, r -> {
                Table agents = r.sync(() -> UiRobot.find(h.shell, UiIds.PREFS_AGENTS, Table.class));
                Label message = r.sync(() -> UiRobot.find(h.shell, UiIds.PREFS_MESSAGE, Label.class));
                Text downtime = r.sync(() -> UiRobot.find(h.shell, UiIds.PREFS_DOWNTIME, Text.class));
                Button revert = r.sync(() -> UiRobot.find(h.shell, UiIds.PREFS_REVERT, Button.class));
                assertTrue(r.sync(() -> revert.getDisplay().map(revert, null, 0, 0).y + revert.getSize().y) < 1000,
                        "Revert is on screen");
                String savedDowntime = Integer.toString(h.settings.current().defaults().downtimeTargetMs());
                assertEquals(savedDowntime, r.sync(downtime::getText));
                assertEquals(List.of(), names(r, agents));

                // saved elsewhere while the form is untouched: shown at once
                saveElsewhere(h, "h7", "https://10.0.0.7:7443");
                r.waitFor(() -> names(agents).equals(List.of("h7")), () -> "h7 listed after the save elsewhere; rows: "
                        + names(agents) + "; message: " + message.getText());
                assertTrue(r.sync(message::getText).startsWith("Reloaded"), r.sync(message::getText));

                // a person edits the downtime target, then someone else saves: the edit stays, the message says so
                r.click(downtime);
                r.ui(downtime::selectAll);
                r.type("450");
                r.waitFor(() -> downtime.getText().equals("450"), () -> "typed 450: " + downtime.getText());
                saveElsewhere(h, "h8", "https://10.0.0.8:7443");
                r.waitFor(() -> message.getText().contains("keeps your edits"), () -> "a note that the edits were"
                        + " kept; message: " + message.getText());
                assertEquals("450", r.sync(downtime::getText));
                assertEquals(List.of("h7"), names(r, agents), "the form still shows what the person was editing");

                // Revert loads what was saved elsewhere and drops the edit
                r.click(revert);
                r.waitFor(() -> names(agents).equals(List.of("h7", "h8")), () -> "h7 and h8 after Revert; rows: "
                        + names(agents));
                assertEquals(savedDowntime, r.sync(downtime::getText));

                // the reloaded form is clean again: the next save elsewhere shows up by itself
                saveElsewhere(h, "h9", "https://10.0.0.9:7443");
                r.waitFor(() -> names(agents).equals(List.of("h7", "h8", "h9")), () -> "h9 listed; rows: "
                        + names(agents) + "; message: " + message.getText());
            });
        }
    }

    /** Saves from another thread, as another console window or the lab service would. */
    private static void saveElsewhere(ConsoleHarness h, String id, String address) {
        ConsoleSettings now = h.settings.current();
        List<AgentRef> list = new ArrayList<>(now.agents());
        list.add(AgentRef.parse(id, address));
        try {
            h.settings.save(now.withAgents(list));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> names(UiRobot r, Table t) {
        return r.sync(() -> names(t));
    }

    private static List<String> names(Table t) {
        return Arrays.stream(t.getItems()).map(TableItem::getText).toList();
    }
}
