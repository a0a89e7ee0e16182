package org.sealift.console.core.inventory;

import java.util.Locale;

/** What a VM is doing, as its host's agent reports it. */
public enum VmState {
    RUNNING, PAUSED, MIGRATING, STOPPED;

    /** "running" etc., for labels. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
