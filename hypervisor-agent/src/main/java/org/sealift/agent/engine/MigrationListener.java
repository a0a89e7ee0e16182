package org.sealift.agent.engine;

import java.util.List;

import org.sealift.model.MigrationEvent;

/**
 * Receives the engine's events on the engine's thread; it must return quickly (the console coalesces them and
 * applies them on its UI thread). An exception thrown here is ignored: a display never stops a migration.
 */
@FunctionalInterface
public interface MigrationListener {

    void onEvent(MigrationEvent event);

    /** Hands {@code event} to every listener in order; one that throws neither stops the others nor the migration. */
    static void fanOut(List<MigrationListener> listeners, MigrationEvent event) {
        for (MigrationListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException ignored) {
                // a display never stops a migration
            }
        }
    }
}
