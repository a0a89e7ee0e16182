package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.protocol.token.TokenKind;

/**
 * The destination seals RESUMING together with the DONE token and writes COMMITTED lazily (Migrations
 * #resumeDestination). dom0 crashes the destination host in between: the restarted hypervisor must still hold a final
 * COMMITTED record (Attestations signs a record only once it is final, and a COMMITTED migration waits for both
 * hypervisors' signatures), never a RESUMING record that stays open for ever. Files driven directly, in process, so
 * the crash lands exactly before the lazy write.
 */
class LazyCommitCrashTest {

    @TempDir
    Path dir;

    private Hardware hardware() throws Exception {
        return Hardware.open(dir.resolve("hw"), "d1", Optional.of(dir.resolve("vendor")));
    }

    private static MigrationRecord destination() {
        byte[] id = new byte[16];
        id[0] = 7;
        MigrationRecord r = new MigrationRecord(MigrationId.of(id), MigrationRole.DESTINATION, "db-01", 4,
                MigrationState.READY);
        r.tokens.put(TokenKind.READY, new byte[] {1, 2, 3});
        return r;
    }

    /** What Migrations#resumeDestination seals before the VM runs: RESUMING with RELEASE and DONE. */
    private static void sealResuming(SealedState s, MigrationRecord r) throws Exception {
        r.tokens.put(TokenKind.RELEASE, new byte[] {4, 5});
        r.tokens.put(TokenKind.DONE, new byte[] {6, 7, 8});
        r.state = MigrationState.RESUMING;
        s.persist();
    }

    @Test
    void aDestinationCrashedBeforeTheLazyCommittedWriteComesBackCommitted() throws Exception {
        Path state = dir.resolve("state");
        MigrationId id;
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            MigrationRecord r = destination();
            id = r.id;
            s.migrations.put(r.id, r);
            s.persist();
            sealResuming(s, r);
            // the VM runs, DONE leaves; the host dies before the lazy COMMITTED write (nothing more is sealed)
        }
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            MigrationRecord r = s.migrations.get(id);
            assertEquals(MigrationState.COMMITTED, r.state,
                    "RESUMING was sealed with DONE: the migration committed here, whatever the crash took");
            assertFalse(r.inDoubt);
            assertFalse(r.holdsLock(), "a committed migration holds no lock on its VM");
            assertArrayEquals(new byte[] {6, 7, 8}, r.tokens.get(TokenKind.DONE), "DONE is still served");
        }
        // and the settled record is what the next restart reads
        try (Hardware hw = hardware()) {
            assertEquals(MigrationState.COMMITTED, SealedState.load(state, hw).migrations.get(id).state);
        }
    }

    @Test
    void aRolledBackResumingStateStaysInDoubtAndIsNotSettled() throws Exception {
        Path state = dir.resolve("state");
        Path resuming = dir.resolve("resuming");
        MigrationId id;
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            MigrationRecord r = destination();
            id = r.id;
            s.migrations.put(r.id, r);
            s.persist();
            sealResuming(s, r);
            Files.copy(state.resolve(SealedState.FILE), resuming);
            r.state = MigrationState.COMMITTED;
            s.persist(); // the lazy write landed
            s.persist(); // and a later decision
        }
        // dom0 hands back the RESUMING version two commits later: a rollback, which settles nothing
        Files.copy(resuming, state.resolve(SealedState.FILE), StandardCopyOption.REPLACE_EXISTING);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertTrue(s.historyLost, "a rollback is detected");
            MigrationRecord r = s.migrations.get(id);
            assertEquals(MigrationState.RESUMING, r.state);
            assertTrue(r.inDoubt, "a rolled-back open migration stays in doubt: token or fence only");
        }
    }
}
