package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.Recovery;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.TokenKind;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.wire.RecordType;

/**
 * Threat → test matrix, "crash of the agent, and of the whole host, at every commit step": after MANIFEST, after
 * READY, after RELEASE, after the destination resumed, at the end that made the step and at the end it was sent to
 * (the steps before the MANIFEST: {@link EarlyCrashTest}; a host lost for good: {@link FenceTest}). An agent crash kills the engine mid-step (its later calls
 * never reach the hypervisor, its connections drop); a host crash kills the hypervisor process (domains in RAM are
 * lost, sealed decisions stay). Each test ends with at most one running copy, and with the VM running wherever a
 * complete copy survived, through the automatic path or the documented token path.
 */
class CommitCrashTest extends AttackSuite {

    // ---- agent crashes -------------------------------------------------------------------------------------------

    @Test
    void agentCrashAtSourceAfterManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                throw m.srcInterposer.crash("after MANIFEST");
            }
        };
        m.run();
        assertNotNull(m.sourceCrash, m.everything().toString());
        assertNotEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome());
        MigrationId id = m.migrationId;
        assertEquals(MigrationState.FROZEN, decision(h1, id).state(), "frozen, paused, not released");
        assertEquals(0, runningCopies(m.config.name()));
        // the restarted agent ends what had not reached RELEASE: the source aborts and resumes
        try (SimBackend agent = newAgent("h1")) {
            List<Recovery.Action> actions = Recovery.run(agent);
            assertTrue(actions.stream().anyMatch(a -> a.done().startsWith("aborted by the source and resumed")),
                    actions.toString());
        }
        assertEquals(Outcome.ABORTED_BY_SOURCE, recordAt(h1, id).outcome());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        cleanup(m);
    }

    @Test
    void agentCrashAtDestinationAfterReady() throws Exception {
        SimRun m = secure(quietVm());
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onManifest")) {
                throw m.dstInterposer.crash("after READY was issued, before it was sent");
            }
        };
        m.run();
        assertNotNull(m.destinationCrash, m.everything().toString());
        // the source never saw READY: it aborted and resumed on its own
        MigrationId id = m.migrationId;
        assertEquals(Outcome.ABORTED_BY_SOURCE, record(m.source).outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        // the destination still holds a verified copy; the restarted agent carries the source's ABORT to it
        try (SimBackend agent = newAgent("h2")) {
            assertEquals(MigrationState.READY, decision(agent, id).state());
            agent.importToken(h1.exportToken(id, TokenKind.ABORT));
        }
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(m.dstDom).state());
        assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom));
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void agentCrashAtSourceAfterRelease() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                // RELEASE is recorded but the agent dies before sending it; the operator re-serves it by hand
                MigrationId id = m.migrationId;
                byte[] release = h1.exportToken(id, TokenKind.RELEASE);
                try (SimBackend agent = newAgent("h2")) {
                    agent.importToken(release);
                }
                throw m.srcInterposer.crash("after RELEASE was recorded");
            }
        };
        m.run();
        assertNotNull(m.sourceCrash);
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertEquals(MigrationState.RELEASED, decision(h1, id).state(), "the source waits for DONE");
        try (SimBackend agent = newAgent("h1")) {
            agent.importToken(h2.exportToken(id, TokenKind.DONE));
        }
        assertEquals(MigrationState.COMMITTED, decision(h1, id).state());
        assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom), "the source never runs it again");
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, m.digestAtReady);
        assertEquals(Outcome.COMMITTED, recordAt(h2, id).outcome());
        cleanup(m);
    }

    @Test
    void agentCrashAtDestinationAfterResume() throws Exception {
        SimRun m = secure(quietVm());
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onRelease")) {
                throw m.dstInterposer.crash("after the VM resumed, before DONE was sent");
            }
        };
        m.run();
        assertNotNull(m.destinationCrash);
        MigrationId id = m.migrationId;
        assertTrue(m.source.inDoubt(), "released without DONE: " + m.everything());
        assertEquals(DomainState.RELEASED, h1.domainInfo(m.srcDom).state(), "paused at the source");
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        h1.importToken(h2.exportToken(id, TokenKind.DONE));
        assertEquals(MigrationState.COMMITTED, decision(h1, id).state());
        assertEquals(Outcome.COMMITTED, recordAt(h1, id).outcome());
        assertArrayEquals(m.digestAtFreeze, m.digestAtReady);
        cleanup(m);
    }

    // ---- host crashes --------------------------------------------------------------------------------------------

    @Test
    void hostCrashOfDestinationAfterReady() throws Exception {
        SimRun m = secure(quietVm());
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onManifest")) {
                cluster.crash("h2"); // READY is in the agent's hands and goes out; the host and its copy are gone
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        h2 = cluster.boot("h2");
        // whether RELEASE was recorded or not, the source still holds the VM; the rebooted destination lost its
        // copy and, never having resumed, may abort: its restarted agent does, and its ABORT token, carried to the
        // source, gives the VM back there
        MigrationDecision atSource = decision(h1, id);
        if (atSource.state() == MigrationState.RELEASED) {
            assertEquals(0, runningCopies(m.config.name()));
            List<Recovery.Action> actions = restartAgent("h2");
            assertEquals(MigrationState.ABORTED_BY_DESTINATION, decision(h2, id).state(), actions.toString());
            h1.importToken(h2.exportToken(id, TokenKind.ABORT));
            h1.resume(m.srcDom);
        }
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), m.everything().toString());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceAfterRelease() throws Exception {
        SimRun m = secure(quietVm());
        // killing a hypervisor process inside the RELEASE step takes a while on a loaded machine: give the
        // destination's READY deadline room so that it is the crash, not that deadline, being tested
        m.engine = SHORT.withDeadlines(new org.sealift.agent.engine.Deadlines(java.time.Duration.ofSeconds(8),
                java.time.Duration.ofSeconds(15), java.time.Duration.ofSeconds(15), java.time.Duration.ofSeconds(15)));
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                cluster.crash("h1"); // the agent still sends RELEASE; the source host is gone
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        h1 = cluster.boot("h1");
        assertEquals(MigrationState.RELEASED, decision(h1, id).state(), "the sealed decision survived the crash");
        h1.importToken(h2.exportToken(id, TokenKind.DONE));
        assertEquals(MigrationState.COMMITTED, decision(h1, id).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, m.digestAtReady);
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceAfterManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                cluster.crash("h1"); // MANIFEST goes out; nothing can RELEASE any more
            }
        };
        m.run();
        h1 = cluster.boot("h1");
        MigrationId id = m.migrationId;
        // the destination verified the copy but has no RELEASE: it never runs it on its own and gives it up at its
        // READY deadline, unless an operator fences it in time (FenceTest#hostCrashOfSourceAfterReadyThenFence...,
        // with the digest from the destination's READY token). G5 holds: nothing runs twice.
        assertNotEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(0, runningCopies(m.config.name()));
        MigrationState atSource = decision(h1, id).state();
        assertTrue(atSource != MigrationState.RELEASED && !atSource.isFinal() || atSource
                == MigrationState.ABORTED_BY_SOURCE, "the source never released: " + atSource);
        assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom));
        cleanup(m);
    }

    @Test
    void hostCrashOfDestinationAfterResume() throws Exception {
        SimRun m = secure(quietVm());
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onRelease")) {
                cluster.crash("h2"); // the VM ran there; DONE (already made) still reaches the source
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.COMMITTED, m.source.summary().outcome(), m.everything().toString());
        h2 = cluster.boot("h2");
        MigrationState atDestination = decision(h2, id).state();
        assertTrue(atDestination == MigrationState.RESUMING || atDestination == MigrationState.COMMITTED,
                "it resumed: " + atDestination);
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> h2.destinationSession(id).abort(ProtocolException.Reason.DEADLINE, "too late"));
        assertNotNull(e.getMessage());
        // the source discarded its copy at DONE: the crash took the only copy, and none runs twice
        assertEquals(0, runningCopies(m.config.name()));
        cleanup(m);
    }

    // ---- the other end of each step: the record is on its way when its receiver crashes --------------------------

    @Test
    void agentCrashAtDestinationAfterManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = onRecord(RecordType.MANIFEST, Direction.SOURCE_TO_DESTINATION,
                () -> m.dstInterposer.crash("after the MANIFEST arrived, before its hypervisor verified it"));
        m.run();
        assertNotNull(m.destinationCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        // no READY came: the source, which never released, aborted and runs the copy it froze
        assertRecord(record(m.source), Outcome.ABORTED_BY_SOURCE, ProtocolException.Reason.TRUNCATED);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        assertEquals(MigrationState.PRECOPY, decision(h2, id).state(), "the MANIFEST never reached h2's hypervisor");
        List<Recovery.Action> actions = restartAgent("h2");
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, decision(h2, id).state(), actions.toString());
        assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom));
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void hostCrashOfDestinationAfterManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = onRecord(RecordType.MANIFEST, Direction.SOURCE_TO_DESTINATION, () -> crashHost("h2"));
        m.run();
        MigrationId id = m.migrationId;
        assertRecord(record(m.source), Outcome.ABORTED_BY_SOURCE, ProtocolException.Reason.TRUNCATED);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        h2 = cluster.boot("h2");
        assertEquals(MigrationState.PRECOPY, decision(h2, id).state(), "h2 never verified a copy");
        // its session died with the host: the restarted agent ends it through the ABORT token
        List<Recovery.Action> actions = restartAgent("h2");
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, decision(h2, id).state(), actions.toString());
        // dom0 asked for the ABORT token: CANCELLED, and the record says the session had died with the restart
        AttestationRecord ended = assertRecord(recordAt(h2, id), Outcome.ABORTED_BY_DESTINATION,
                ProtocolException.Reason.CANCELLED);
        assertTrue(ended.detail().contains("ABORT token was exported") && ended.detail().contains("restart"),
                ended.detail());
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void agentCrashAtSourceAfterReady() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = onRecord(RecordType.READY, Direction.DESTINATION_TO_SOURCE,
                () -> m.srcInterposer.crash("after READY arrived, before its hypervisor released"));
        m.run();
        assertNotNull(m.sourceCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        // the destination's verified copy had no RELEASE: it gave it up at its READY deadline
        assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, m.destination.summary().outcome(),
                m.everything().toString());
        assertRecord(record(m.destination), Outcome.ABORTED_BY_DESTINATION, ProtocolException.Reason.DEADLINE);
        assertEquals(MigrationState.FROZEN, decision(h1, id).state(), "the source never released");
        assertEquals(0, runningCopies(m.config.name()));
        List<Recovery.Action> actions = restartAgent("h1");
        assertTrue(actions.stream().anyMatch(a -> a.done().startsWith("aborted by the source and resumed")),
                actions.toString());
        AttestationRecord ended = assertRecord(recordAt(h1, id), Outcome.ABORTED_BY_SOURCE,
                ProtocolException.Reason.CANCELLED);
        assertTrue(ended.detail().contains("the agent restarted during the migration and its recovery gave it up"),
                ended.detail());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom));
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void agentCrashAtDestinationAfterRelease() throws Exception {
        SimRun m = secure(quietVm());
        m.engine = LONG_AFTER_READY; // the destination holds its verified copy long enough for the restarted agent
        m.tamper = onRecord(RecordType.RELEASE, Direction.SOURCE_TO_DESTINATION,
                () -> m.dstInterposer.crash("after RELEASE arrived, before its hypervisor saw it"));
        m.run();
        assertNotNull(m.destinationCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        assertTrue(m.source.inDoubt(), "released without DONE: " + m.everything());
        assertEquals(MigrationState.READY, decision(h2, id).state());
        assertEquals(0, runningCopies(m.config.name()), "neither end runs it: RELEASE is in flight");
        // the restarted agent gets the RELEASE the source re-serves, and carries DONE back
        try (SimBackend agent = newAgent("h2")) {
            agent.importToken(h1.exportToken(id, TokenKind.RELEASE));
        }
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertArrayEquals(m.digestAtFreeze, h2.protectedMemoryDigest(m.dstDom));
        h1.importToken(h2.exportToken(id, TokenKind.DONE));
        assertRecord(recordAt(h1, id), Outcome.COMMITTED, null);
        assertRecord(recordAt(h2, id), Outcome.COMMITTED, null);
        assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom));
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void agentCrashAtSourceAfterResume() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = onRecord(RecordType.DONE, Direction.DESTINATION_TO_SOURCE,
                () -> m.srcInterposer.crash("after DONE arrived, before its hypervisor saw it"));
        m.run();
        assertNotNull(m.sourceCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(MigrationState.RELEASED, decision(h1, id).state(), "paused at the source, keys locked");
        List<Recovery.Action> actions = restartAgent("h1");
        assertTrue(actions.stream().anyMatch(a -> a.done().startsWith("released")), actions.toString());
        assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom), "no resume after RELEASE");
        h1.importToken(h2.exportToken(id, TokenKind.DONE));
        assertRecord(recordAt(h1, id), Outcome.COMMITTED, null);
        assertRecord(record(m.destination), Outcome.COMMITTED, null);
        assertArrayEquals(m.digestAtFreeze, h2.protectedMemoryDigest(m.dstDom));
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceAfterResume() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = onRecord(RecordType.DONE, Direction.DESTINATION_TO_SOURCE, () -> crashHost("h1"));
        m.run();
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), m.everything().toString());
        assertRecord(record(m.destination), Outcome.COMMITTED, null);
        assertArrayEquals(m.digestAtFreeze, h2.protectedMemoryDigest(m.dstDom));
        h1 = cluster.boot("h1");
        assertEquals(MigrationState.RELEASED, decision(h1, id).state(), "the sealed RELEASE survived the crash");
        h1.importToken(h2.exportToken(id, TokenKind.DONE));
        assertRecord(recordAt(h1, id), Outcome.COMMITTED, null);
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }
}
