package org.sealift.console.core.migration;

import java.util.List;

import org.sealift.console.core.inventory.AgentException;

/**
 * Migrations in doubt across the connected agents, and their resolution by hand-carried token files
 * ({@code GET /v1/in-doubt}, {@code GET|POST /v1/in-doubt/{id}/token}). The agent client implements it. Calls
 * block (network); never call them on the UI thread.
 */
public interface InDoubtService {

    /** The token kinds an operator exports ({@code kind=release|abort|done}). */
    enum TokenKind {
        /** From a source after RELEASE: imported at the destination, which then resumes the VM. */
        RELEASE,
        /** Decides an abort where the hypervisor still may (source before RELEASE, destination before resuming). */
        ABORT,
        /** From a destination after it resumed: imported at the source, which then lets the VM go. */
        DONE
    }

    /**
     * @param migrations every in-doubt migration the reachable agents reported
     * @param problems   one sentence per agent that could not be asked (names the agent and the fix)
     */
    record Listing(List<InDoubtMigration> migrations, List<String> problems) {
        public Listing {
            migrations = List.copyOf(migrations);
            problems = List.copyOf(problems);
        }
    }

    /** Asks every configured agent. */
    Listing list();

    /** The text of a token file exported by host {@code hostId}'s hypervisor for the migration. */
    String exportToken(String hostId, String migrationId, TokenKind kind) throws AgentException;

    /**
     * Hands a peer's token file to host {@code hostId}, whose hypervisor verifies and applies it.
     *
     * @return the migration as the host sees it afterwards
     */
    InDoubtMigration importToken(String hostId, String migrationId, String tokenFile) throws AgentException;
}
