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
        bytes[60] ^= 1; // inside the sealed state of the one copy written (counter 0: the first copy)
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

    /** Persists {@code r} at {@code state}; returns the counter value the write carried. */
    static long persistWith(SealedState s, MigrationRecord r, Hardware hw) throws Exception {
        s.migrations.put(r.id, r);
        s.persist();
        return hw.counter() - 1;
    }

    /** Flips octets in the middle of the copy that carries {@code counter}, as a write torn by a crash leaves it. */
    static void tear(Path file, long counter) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        int size = bytes.length / 2;
        int at = (int) (counter & 1) * size + 40;
        for (int i = 0; i < 16; i++) {
            bytes[at + i] ^= (byte) 0xA5;
        }
        Files.write(file, bytes);
    }

    /** Persists {@code r} in PRECOPY, then in READY; returns the counter value the READY write carried. */
    long precopyThenReady(Path state, MigrationRecord r) throws Exception {
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            persistWith(s, r, hw);
            r.state = MigrationState.READY;
            return persistWith(s, r, hw);
        }
    }

    @Test
    void aWriteTornByACrashBeforeTheCounterMovedLeavesThePreviousState() throws Exception {
        Path state = dir.resolve("state");
        MigrationRecord r = record((byte) 5, MigrationState.PRECOPY);
        long written = precopyThenReady(state, r);
        // the crash hit while the READY copy was being overwritten in place: that copy is torn, the counter did not move
        tear(state.resolve(SealedState.FILE), written);
        Files.writeString(dir.resolve("hw").resolve(Hardware.NV_COUNTER), written + "\n");
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            assertEquals(MigrationState.PRECOPY, s.migrations.get(r.id).state,
                    "the decision whose write was torn never took effect: the copy before it is the state");
        }
    }

    @Test
    void theSameDamageAfterTheCounterMovedIsARollback() throws Exception {
        Path state = dir.resolve("state");
        MigrationRecord r = record((byte) 6, MigrationState.PRECOPY);
        long written = precopyThenReady(state, r);
        // dom0 damages the newest copy of a completed write: the copy before it is one decision too old
        tear(state.resolve(SealedState.FILE), written);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertTrue(s.historyLost);
            assertTrue(s.doubtReason.contains("rolled back") && s.doubtReason.contains("other copy does not open"),
                    s.doubtReason);
            assertTrue(s.migrations.get(r.id).inDoubt);
        }
    }

    @Test
    void afterTheFirstWriteEachDecisionOverwritesTheOlderCopyInPlace() throws Exception {
        Path state = dir.resolve("state");
        Path file = state.resolve(SealedState.FILE);
        Path counterFile = dir.resolve("hw").resolve(Hardware.NV_COUNTER);
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            MigrationRecord r = record((byte) 7, MigrationState.PRECOPY);
            persistWith(s, r, hw);
            persistWith(s, r, hw); // the counter file now has its fixed width
            Object inode = Files.getAttribute(file, "unix:ino");
            Object counterInode = Files.getAttribute(counterFile, "unix:ino");
            long size = Files.size(file);
            for (MigrationState st : new MigrationState[] {MigrationState.READY, MigrationState.RESUMING,
                    MigrationState.COMMITTED}) {
                r.state = st;
                persistWith(s, r, hw);
                assertTrue(s.checkIntact(), "the file is what the hypervisor wrote");
            }
            assertEquals(inode, Files.getAttribute(file, "unix:ino"), "no new file was renamed over the state");
            assertEquals(counterInode, Files.getAttribute(counterFile, "unix:ino"));
            assertEquals(size, Files.size(file));
        }
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            assertEquals(MigrationState.COMMITTED, s.migrations.values().iterator().next().state);
        }
    }

    @Test
    void aStateThatOutgrowsItsCopiesMovesToALargerFile() throws Exception {
        Path state = dir.resolve("state");
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            s.persist();
            for (int i = 0; Files.size(state.resolve(SealedState.FILE)) <= 2L * SealedState.MIN_SLOT; i++) {
                byte[] id = new byte[16];
                id[0] = (byte) i;
                id[1] = (byte) (i >> 8);
                persistWith(s, new MigrationRecord(MigrationId.of(id), MigrationRole.SOURCE, "vm-" + i, i,
                        MigrationState.PRECOPY), hw);
                assertTrue(i < 5000, "the state never outgrew " + SealedState.MIN_SLOT + " octets per copy");
            }
        }
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            assertTrue(s.migrations.size() > 50, "all records came back: " + s.migrations.size());
        }
    }

    @Test
    void aStateFileOfTheEarlierOneCopyFormatIsReadAndReplaced() throws Exception {
        Path state = dir.resolve("state");
        Path file = state.resolve(SealedState.FILE);
        long written;
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            written = persistWith(s, record((byte) 8, MigrationState.READY), hw);
        }
        // format 1: MAGIC, 1, counter, nonce, sealed: the same sealing, one copy, nothing after it
        java.nio.ByteBuffer copy = java.nio.ByteBuffer.wrap(Files.readAllBytes(file));
        copy.position((int) (written & 1) * (copy.capacity() / 2));
        byte[] magic = new byte[8];
        copy.get(magic);
        copy.getInt();
        long counter = copy.getLong();
        int length = copy.getInt();
        byte[] nonce = new byte[12];
        copy.get(nonce);
        byte[] sealed = new byte[length];
        copy.get(sealed);
        Files.write(file, java.nio.ByteBuffer.allocate(8 + 4 + 8 + 12 + length).put(magic).putInt(1).putLong(counter)
                .put(nonce).put(sealed).array());
        try (Hardware hw = hardware()) {
            SealedState s = SealedState.load(state, hw);
            assertFalse(s.historyLost, s.doubtReason);
            assertEquals(MigrationState.READY, s.migrations.values().iterator().next().state);
        }
        assertEquals(0, Files.size(file) % (2 * SealedState.MIN_SLOT), "rewritten as two copies");
    }
}
