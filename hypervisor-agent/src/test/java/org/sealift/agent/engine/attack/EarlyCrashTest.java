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
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.TokenKind;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;

/**
 * Threat → test matrix, "crash of the agent, and of the whole host, at every commit step", for the steps before the
 * MANIFEST: right after the migration session began (before the handshake completed) and in the middle of pre-copy,
 * at either end. Nothing is committed yet, so the VM's running copy is the source's: an agent crash leaves it
 * running (or the restarted agent ends the migration through the hypervisor and resumes it), a crash of the source
 * host takes it down with the host, and the destination's partial copy never runs. The crashed hypervisor's sealed
 * decision is found again after the reboot; its session keys are gone, so it is ended through its ABORT token.
 */
class EarlyCrashTest extends AttackSuite {

    static final String SOURCE_BEGUN = "backend.beginSecureSource";
    static final String DESTINATION_OPENED = "backend.openSecureDestination";
    static final String SEALING = "source.sealPages";
    static final String RECEIVING = "destination.acceptSealed";

    /** The migration is over at {@code host} with {@code state}, and its hypervisor signs {@code outcome}, {@code reason}. */
    static AttestationRecord assertEnded(SimBackend host, MigrationId id, MigrationState state, Outcome outcome,
            Reason reason, Object context) throws Exception {
        assertEquals(state, decision(host, id).state(), decision(host, id) + " after " + context);
        return assertRecord(recordAt(host, id), outcome, reason);
    }

    /** The source's copy runs, alone, with the protected memory it had (nothing was frozen yet: compare to now). */
    static void assertRunsAtTheSourceOnly(SimRun m, byte[] digestBefore) throws Exception {
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), m.everything().toString());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(digestBefore, h1.protectedMemoryDigest(m.srcDom), "quiet protected memory is unchanged");
    }

    /** The destination's incoming copy is gone or zeroized and never runs. */
    static void assertNothingRunsAtTheDestination(SimRun m) throws Exception {
        if (m.dstDom >= 0) {
            boolean exists = h2.listDomains().stream().anyMatch(d -> d.domId() == m.dstDom);
            if (exists) {
                assertNotEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
                assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom), "a partial copy never runs");
            }
        }
    }

    // ---- before the handshake completed --------------------------------------------------------------------------

    @Test
    void agentCrashAtSourceBeforeHandshake() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.srcHook = once(SOURCE_BEGUN, () -> {
            throw m.srcInterposer.crash("after the session began, before HELLO was sent");
        });
        m.run();
        assertNotNull(m.sourceCrash, m.everything().toString());
        assertNotEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome());
        MigrationId id = m.migrationId;
        assertEquals(MigrationState.HANDSHAKE, decision(h1, id).state(), "the lock is held, nothing was sent");
        assertRunsAtTheSourceOnly(m, before);
        List<Recovery.Action> actions = restartAgent("h1");
        assertTrue(actions.stream().anyMatch(a -> a.before().id().equals(id)
                && a.done().startsWith("aborted by the source")), actions.toString());
        assertEnded(h1, id, MigrationState.ABORTED_BY_SOURCE, Outcome.REJECTED, Reason.CANCELLED, actions);
        assertRunsAtTheSourceOnly(m, before);
        assertNothingRunsAtTheDestination(m);
        cleanup(m);
    }

    @Test
    void agentCrashAtDestinationBeforeHandshake() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.dstHook = once(DESTINATION_OPENED, () -> {
            throw m.dstInterposer.crash("after the incoming domain was created, before HELLO was read");
        });
        m.run();
        assertNotNull(m.destinationCrash, m.everything().toString());
        assertEquals(MigrationOutcome.REJECTED, m.source.summary().outcome(), m.everything().toString());
        assertRecord(record(m.source), Outcome.REJECTED, Reason.TRUNCATED);
        assertRunsAtTheSourceOnly(m, before);
        // the incoming domain waits for a HELLO that never comes; the restarted agent ends it
        restartAgent("h2");
        assertNothingRunsAtTheDestination(m);
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceBeforeHandshake() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = once(SOURCE_BEGUN, () -> crashHost("h1"));
        m.run();
        MigrationId id = m.migrationId;
        // the destination never completed a handshake with a live source: it rejected
        assertEquals(MigrationOutcome.REJECTED, m.destination.summary().outcome(), m.everything().toString());
        assertNothingRunsAtTheDestination(m);
        // the VM died with its host; no copy of it exists anywhere, and none runs twice
        h1 = cluster.boot("h1");
        assertEquals(0, runningCopies(m.config.name()));
        // nothing left the host before the handshake completed (no key, no MANIFEST, no RELEASE): the restarted
        // hypervisor ends the migration itself, frees the VM's lock and signs its record (one signature: REJECTED,
        // the peer was never identified)
        assertEnded(h1, id, MigrationState.ABORTED_BY_SOURCE, Outcome.REJECTED, Reason.TRUNCATED, "the reboot");
        assertEquals("h1", recordAt(h1, id).source().hostId());
        // nothing can be resumed or released from it: the session keys died with the host, no peer ever accepted it
        assertThrows(HypervisorException.class, () -> h1.sourceSession(id));
        assertThrows(HypervisorException.class, () -> h1.exportToken(id, TokenKind.RELEASE));
        // the restarted agent finds nothing left open, and a second reboot keeps the decision
        List<Recovery.Action> actions = restartAgent("h1");
        assertTrue(actions.stream().noneMatch(a -> a.before().id().equals(id)), actions.toString());
        cluster.crash("h1");
        h1 = cluster.boot("h1");
        assertEnded(h1, id, MigrationState.ABORTED_BY_SOURCE, Outcome.REJECTED, Reason.TRUNCATED, "a second reboot");
        assertEquals(0, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void hostCrashOfDestinationBeforeHandshake() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.dstHook = once(DESTINATION_OPENED, () -> crashHost("h2"));
        m.run();
        assertEquals(MigrationOutcome.REJECTED, m.source.summary().outcome(), m.everything().toString());
        assertRecord(record(m.source), Outcome.REJECTED, Reason.TRUNCATED);
        assertRunsAtTheSourceOnly(m, before);
        h2 = cluster.boot("h2");
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }

    @Test
    void hostCrashOfDestinationMidHandshake() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        // the destination hypervisor has sealed its HANDSHAKE decision (and taken the VM's lock) and answered HELLO
        m.dstHook = once("destination.onHello", () -> crashHost("h2"));
        m.run();
        MigrationId id = m.migrationId;
        // the source may have finished its side of the handshake with the reply dom0 still forwarded: it aborts
        assertNotEquals(MigrationOutcome.COMMITTED, m.source.summary().outcome(), m.everything().toString());
        assertRunsAtTheSourceOnly(m, before);
        h2 = cluster.boot("h2");
        // FINISH was never accepted there: nothing verified, no READY. The rebooted hypervisor ends it itself,
        // frees the VM's lock and signs its record; the VM runs at the source alone, its protected memory unchanged
        assertEnded(h2, id, MigrationState.ABORTED_BY_DESTINATION, Outcome.REJECTED, Reason.TRUNCATED, "the reboot");
        List<Recovery.Action> actions = restartAgent("h2");
        assertTrue(actions.stream().noneMatch(a -> a.before().id().equals(id)), actions.toString());
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }

    // ---- in the middle of pre-copy -------------------------------------------------------------------------------

    @Test
    void agentCrashAtSourceMidPrecopy() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.srcHook = once(SEALING, () -> {
            throw m.srcInterposer.crash("while sealing the first round");
        });
        m.run();
        assertNotNull(m.sourceCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        // the destination lost its stream in pre-copy: it aborted and zeroized its partial copy
        assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, m.destination.summary().outcome(),
                m.everything().toString());
        assertNothingRunsAtTheDestination(m);
        assertEquals(MigrationState.PRECOPY, decision(h1, id).state());
        assertRunsAtTheSourceOnly(m, before);
        List<Recovery.Action> actions = restartAgent("h1");
        assertEnded(h1, id, MigrationState.ABORTED_BY_SOURCE, Outcome.ABORTED_BY_SOURCE, Reason.CANCELLED, actions);
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }

    @Test
    void agentCrashAtDestinationMidPrecopy() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.dstHook = once(RECEIVING, () -> {
            throw m.dstInterposer.crash("while opening the first sealed pages");
        });
        m.run();
        assertNotNull(m.destinationCrash, m.everything().toString());
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.ABORTED_BY_SOURCE, m.source.summary().outcome(), m.everything().toString());
        assertRecord(record(m.source), Outcome.ABORTED_BY_SOURCE, Reason.TRUNCATED);
        assertRunsAtTheSourceOnly(m, before);
        assertEquals(MigrationState.PRECOPY, decision(h2, id).state());
        List<Recovery.Action> actions = restartAgent("h2");
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, decision(h2, id).state(), actions.toString());
        assertNothingRunsAtTheDestination(m);
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceMidPrecopy() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = once(SEALING, () -> crashHost("h1"));
        m.run();
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.ABORTED_BY_DESTINATION, m.destination.summary().outcome(),
                m.everything().toString());
        assertRecord(record(m.destination), Outcome.ABORTED_BY_DESTINATION, Reason.TRUNCATED);
        assertNothingRunsAtTheDestination(m);
        h1 = cluster.boot("h1");
        assertEquals(0, runningCopies(m.config.name()), "the VM died with its host; nothing runs it twice");
        assertEquals(MigrationState.PRECOPY, decision(h1, id).state());
        // the session died with the host: the restarted agent ends the migration through its ABORT token
        List<Recovery.Action> actions = restartAgent("h1");
        assertEnded(h1, id, MigrationState.ABORTED_BY_SOURCE, Outcome.ABORTED_BY_SOURCE, Reason.CANCELLED, actions);
        assertEquals(0, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void hostCrashOfDestinationMidPrecopy() throws Exception {
        SimRun m = secure(quietVm());
        byte[] before = h1.protectedMemoryDigest(m.srcDom);
        m.dstHook = once(RECEIVING, () -> crashHost("h2"));
        m.run();
        MigrationId id = m.migrationId;
        assertEquals(MigrationOutcome.ABORTED_BY_SOURCE, m.source.summary().outcome(), m.everything().toString());
        assertRecord(record(m.source), Outcome.ABORTED_BY_SOURCE, Reason.TRUNCATED);
        assertRunsAtTheSourceOnly(m, before);
        h2 = cluster.boot("h2");
        assertEquals(MigrationState.PRECOPY, decision(h2, id).state(), "the sealed decision survived");
        List<Recovery.Action> actions = restartAgent("h2"); // the session died with the host: the token path
        assertEnded(h2, id, MigrationState.ABORTED_BY_DESTINATION, Outcome.ABORTED_BY_DESTINATION,
                Reason.CANCELLED, actions);
        assertRunsAtTheSourceOnly(m, before);
        cleanup(m);
    }
}
