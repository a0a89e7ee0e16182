package org.sealift.console.core.inventory;

import java.util.function.Consumer;

/**
 * The console's view of hosts → VMs → protected processes. Loads lazily and in the background (Jobs), and pushes an
 * immutable {@link InventorySnapshot} to its listeners after every change. Listeners are called on a background
 * thread and must return quickly: a UI hands the snapshot to its own thread (asyncExec) and returns.
 */
public interface InventoryService {

    InventorySnapshot current();

    /** Adds a listener and calls it once with the current snapshot. */
    void addListener(Consumer<InventorySnapshot> listener);

    void removeListener(Consumer<InventorySnapshot> listener);

    /** Asks every agent again for its host (VM lists already loaded are reloaded as well). */
    void refresh();

    /** Loads the VMs of a host unless they are loaded or loading. */
    void loadVms(String hostId);

    /** Loads the protected processes of a VM unless they are loaded or loading. */
    void loadProcesses(String hostId, String vmId);

    /** Asks an (unreachable) host's agent again, then reloads what was loaded before. */
    void reconnect(String hostId);

    /**
     * Something changed on a reachable host (a migration started or ended there, whoever started it): asks its agent
     * again for the host and, if they were loaded, its VMs, and shows the answer in place, without "connecting" or
     * "loading" rows in between. Changes that arrive while one is being fetched are fetched once more after it.
     */
    void hostChanged(String hostId);
}
