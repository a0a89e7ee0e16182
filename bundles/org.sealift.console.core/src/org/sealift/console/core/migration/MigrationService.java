package org.sealift.console.core.migration;

import java.util.List;
import java.util.function.Consumer;

import org.eclipse.core.runtime.IProgressMonitor;
import org.sealift.model.MigrationEvent;

/**
 * Runs migrations through the source host's agent (management API: {@code POST /v1/migrations}, its event stream,
 * {@code POST …/abort}). The agent client implements it and registers it as an OSGi service. Until one is installed
 * the console can check a migration but not start it: it never pretends to migrate.
 */
public interface MigrationService {

    /**
     * The agents' own checks for a request (a dry run at the source agent: destination reachable over the agent
     * channel, handshake possible, policy accepted). Blocks; run it in a job.
     */
    List<CheckResult> preflight(MigrationRequest request, IProgressMonitor monitor) throws MigrationException;

    /**
     * Starts the migration and returns once the source agent accepted it. Events of the run (phases, rounds,
     * anomalies, and finally {@code Finished}) go to {@code events} on the service's threads, in order.
     */
    MigrationHandle start(MigrationRequest request, Consumer<MigrationEvent> events) throws MigrationException;

    /**
     * Starts the migration with a lab attack injected ({@link MigrationRequest#inject()}, the management API's
     * {@code inject}; only lab agents accept it). A service that cannot inject refuses rather than run the migration
     * without the attack, which would look like an attack that went unnoticed.
     *
     * @param inject the attack's name, or null / blank for none
     */
    default MigrationHandle start(MigrationRequest request, String inject, Consumer<MigrationEvent> events)
            throws MigrationException {
        if (inject != null && !inject.isBlank()) {
            throw new MigrationException("this console's migration service cannot inject the lab attack '" + inject
                    + "'; use 'sealift migrate --inject " + inject + "' against the lab agents");
        }
        return start(request, events);
    }
}
