package org.sealift.agent.engine;

import org.sealift.model.MigrationEvent;

/**
 * Receives the engine's events on the engine's thread; it must return quickly (the console coalesces them and
 * applies them on its UI thread). An exception thrown here is logged and ignored: a display never stops a migration.
 */
@FunctionalInterface
public interface MigrationListener {

    void onEvent(MigrationEvent event);
}
