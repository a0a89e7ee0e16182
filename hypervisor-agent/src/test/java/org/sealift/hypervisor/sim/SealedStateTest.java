package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;

/** The counter rules of the sealed decision state, exercised on the files directly (one hypervisor, in process). */
class SealedStateTest {

    @TempDir
    Path dir;

    Hardware hardware() throws Exception {
        return Hardware.open(dir.resolve("hw"), "u1", Optional.of(dir.resolve("vendor")));
    }

    static MigrationRecord record(byte b, MigrationState s) {
        byte[] id = new byte[16];
        id[0] = b;
        return new MigrationRecord(MigrationId.of(id), MigrationRole.DESTINATION, "vm", 3, s);
    }

    @Test
    void aCrashBetweenStateWriteAndCounterIncrementIsNotFatal() throws Exception {
        Path state = dir.resolve("state");
        long counter;
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            s.migrations.put(record((byte) 1, MigrationState.READY).id, record((byte) 1, MigrationState.READY));
            s.persist();
            counter = hw.counter();
        }
        // the last write happened, the increment did not: put the counter back by one, as a crash would leave it
        Files.writeString(dir.resolve("hw").resolve(Hardware.NV_COUNTER), (counter - 1) + "\n");
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            assertEquals(MigrationState.READY, s.migrations.values().iterator().next().state);
            assertEquals(counter + 2, hw.counter(),
                    "the interrupted increment is completed at start, then the recovered state is committed twice");
        }
    }

    @Test
    void aNewerStateWithheldAtOneRestartIsRefusedWhenHandedBackAtTheNext() throws Exception {
        Path state = dir.resolve("state");
        Path older = dir.resolve("older");
        Path newer = dir.resolve("newer");
        long counter;
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            MigrationRecord r = record((byte) 4, MigrationState.PRECOPY);
            s.migrations.put(r.id, r);
            s.persist();
            Files.copy(state.resolve(SealedState.FILE), older);
            r.state = MigrationState.READY;
            s.persist();
            Files.copy(state.resolve(SealedState.FILE), newer);
            counter = hw.counter();
        }
        // a crash after the READY state was written but before the counter moved; dom0 keeps that file and
        // hands the restarting hypervisor the older one, which is still within the accepted window
        Files.writeString(dir.resolve("hw").resolve(Hardware.NV_COUNTER), (counter - 1) + "\n");
        Files.copy(older, state.resolve(SealedState.FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, "the older state is acceptable at this restart: " + s.doubtReason);
            assertEquals(MigrationState.PRECOPY, s.migrations.values().iterator().next().state);
        }
        // at the next restart dom0 hands back the withheld READY state: adopting it now would contradict what the
        // hypervisor did after the first restart, so it must be refused as a rollback
        Files.copy(newer, state.resolve(SealedState.FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertTrue(s.historyLost, "a withheld state came back and was adopted");
            assertTrue(s.doubtReason.contains("rolled back"), s.doubtReason);
        }
    }

    @Test
    void anOlderStateIsARollbackAndPutsOpenMigrationsInDoubt() throws Exception {
        Path state = dir.resolve("state");
        Path old = dir.resolve("old");
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            MigrationRecord r = record((byte) 2, MigrationState.PRECOPY);
            s.migrations.put(r.id, r);
            s.persist();
            Files.copy(state.resolve(SealedState.FILE), old);
            r.state = MigrationState.READY;
            s.persist();
            r.state = MigrationState.ABORTED_BY_DESTINATION;
            s.persist();
        }
        Files.copy(old, state.resolve(SealedState.FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertTrue(s.historyLost);
            assertTrue(s.doubtReason.contains("rolled back"), s.doubtReason);
            MigrationRecord r = s.migrations.values().iterator().next();
            assertEquals(MigrationState.PRECOPY, r.state);
            assertTrue(r.inDoubt, "a migration whose later decisions were rolled away is in doubt");
        }
        // the doubt is itself sealed: a restart does not forget it
        try (Hardware hw = hardware()) {
            assertTrue(SealedState.load(state, hw).historyLost);
        }
    }

    @Test
    void aStateFromAnotherHostOrWithAFlippedBitDoesNotOpen() throws Exception {
        Path state = dir.resolve("state");
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            s.migrations.put(record((byte) 3, MigrationState.READY).id, record((byte) 3, MigrationState.READY));
            s.persist();
        }
        byte[] bytes = Files.readAllBytes(state.resolve(SealedState.FILE));
        bytes[bytes.length - 20] ^= 1;
        Files.write(state.resolve(SealedState.FILE), bytes);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertTrue(s.historyLost);
            assertTrue(s.doubtReason.contains("does not open"), s.doubtReason);
            assertTrue(s.migrations.isEmpty());
        }
    }

    @Test
    void aNewHostStartsCleanAndASecondHypervisorOnTheSameHardwareIsRefused() throws Exception {
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(dir.resolve("state"), hw);
            assertFalse(s.historyLost);
            var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, this::hardware);
            assertTrue(e.getMessage().contains("another hypervisor already runs"), e.getMessage());
        }
    }
}
