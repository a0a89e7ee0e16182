package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.ProtocolException;

/**
 * Threat → test matrix, "dom0 deletes or rolls back the hypervisor's sealed state, then resumes or asks for ABORT":
 * the sealed decision file lives on dom0's disk, so dom0 can delete it or put an older copy back. The hypervisor
 * notices (its state is bound to a monotonic counter dom0 cannot touch) and fails safe: it never forks.
 */
class SealedStateTest extends AttackSuite {

    static Path stateFile(String host) {
        return cluster.stateDir(host).resolve("sealed-state.bin");
    }

    @Test
    void dom0RollsBackTheSealedStateThenResumesAtTheSource() throws Exception {
        SimRun m = secure(quietVm());
        Path old = dir.resolve("h1-before-release.bin");
        AtomicReference<HypervisorException> refused = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                Files.copy(stateFile("h1"), old, StandardCopyOption.REPLACE_EXISTING);
            }
            if (call.equals("source.release")) {
                // RELEASE is recorded; dom0 puts back the state from before it and runs the VM here as well
                Files.copy(old, stateFile("h1"), StandardCopyOption.REPLACE_EXISTING);
                refused.set(assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom)));
            }
        };
        m.run();
        assertNotNull(refused.get(), m.everything().toString());
        assertEquals(HypervisorException.Reason.REFUSED, refused.get().reason(), refused.get().getMessage());
        assertCommittedIntact(m);

        // and across a restart: the rolled-back file no longer matches the counter, the history is in doubt
        MigrationId id = m.migrationId;
        cluster.crash("h1");
        Files.copy(old, stateFile("h1"), StandardCopyOption.REPLACE_EXISTING);
        h1 = cluster.boot("h1");
        MigrationDecision d = h1.decisions().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
        assertTrue(d.inDoubt(), "a rolled-back decision is in doubt: " + d);
        // dom0 asks the source for an ABORT (which would let it run the VM again): refused, in doubt
        HypervisorException abort = assertThrows(HypervisorException.class,
                () -> h1.sourceSession(id).abort(ProtocolException.Reason.DEADLINE, "dom0 wants it back"));
        assertTrue(abort.getMessage().contains("in doubt"), abort.reason() + ": " + abort.getMessage());
        assertThrows(HypervisorException.class, () -> h1.exportToken(id, TokenKind.ABORT));
        assertEquals(1, runningCopies(m.config.name()), "only the destination runs the VM");
        cleanup(m);
    }

    @Test
    void dom0DeletesTheSealedStateThenAsksForAbortAndResume() throws Exception {
        SimRun m = secure(quietVm());
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onManifest")) {
                throw m.dstInterposer.crash("after READY was issued");
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        // the source never saw READY: it gave up and runs the VM again
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), m.everything().toString());
        // dom0 at the destination deletes the sealed decisions and restarts the host
        cluster.crash("h2");
        Files.delete(stateFile("h2"));
        h2 = cluster.boot("h2");
        byte[] abortToken = h1.exportToken(id, TokenKind.ABORT);
        HypervisorException abort = assertThrows(HypervisorException.class, () -> h2.importToken(abortToken));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, abort.reason(), abort.getMessage());
        HypervisorException session = assertThrows(HypervisorException.class, () -> h2.destinationSession(id));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, session.reason(), session.getMessage());
        assertEquals(1, runningCopies(m.config.name()), "the VM runs at the source only");
        cleanup(m);
        cluster.reenroll("h2"); // the operator brings the host back for the next test
    }
}
