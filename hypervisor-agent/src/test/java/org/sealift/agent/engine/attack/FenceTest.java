package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.token.Token;

/**
 * The destination host dies for good after the source released the VM: nothing runs, the source keeps its copy
 * paused, and only an operator's fence (signed with the policy key, bound to the migration, the manifest digest and
 * the lost host's AK, with a policy revoking that AK) lets it run again. Own cluster: the fence revokes h2.
 */
class FenceTest extends AttackSuite {

    @Test
    void hostCrashOfDestinationAfterReleaseThenFenceRunsTheSourceCopy() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<byte[]> lostAk = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                lostAk.set(Certificates.fingerprint(Certificates.parse(h2.identity().attestationChain().get(0))));
                cluster.crash("h2"); // RELEASE goes out to a host that is gone
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        assertTrue(m.source.inDoubt(), m.everything().toString());
        assertEquals(DomainState.RELEASED, h1.domainInfo(m.srcDom).state());
        assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom), "no resume without DONE, token or fence");
        assertEquals(0, runningCopies(m.config.name()));

        byte[] digest = Token.decode(h1.exportToken(id, TokenKind.RELEASE)).manifestDigest();
        byte[][] wrong = cluster.fence(id.bytes(), new byte[32], lostAk.get());
        assertThrows(HypervisorException.class, () -> h1.importFence(wrong[0], wrong[1]),
                "a fence for another copy is refused");
        byte[][] fence = cluster.fence(id.bytes(), digest, lostAk.get());
        MigrationDecision d = h1.importFence(fence[0], fence[1]);
        assertEquals(MigrationState.FENCED, d.state());
        h1.resume(m.srcDom);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom), "the copy the source sealed");
        cleanup(m);
    }
}
