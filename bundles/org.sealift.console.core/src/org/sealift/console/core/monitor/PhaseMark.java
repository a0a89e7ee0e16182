package org.sealift.console.core.monitor;

import org.sealift.model.MigrationPhase;

/**
 * The run entered {@code phase} at {@code atMillis} after it started (as seen by the console).
 */
public record PhaseMark(MigrationPhase phase, long atMillis) {
}
