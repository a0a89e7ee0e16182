package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.spi.DomainState;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.wire.RecordType;

/**
 * Threat → test matrix, the handshake rows played end to end between two simulated hosts (the pki and handshake
 * libraries test each check in isolation; here the real engines and hypervisors must end REJECTED, with the
 * reason, and the VM must keep running at the source): downgrade of the stream header or of the suite, an
 * unattested peer, a withheld policy update.
 */
class HandshakeAttackTest extends AttackSuite {

    /** The VM never stopped, runs at the source only, and the destination never created a running copy. */
    static void assertRejectedAndStillRunning(SimRun m) throws Exception {
        assertEquals(MigrationOutcome.REJECTED, m.source.summary().outcome(), m.everything().toString());
        assertEquals(MigrationOutcome.REJECTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertTrue(m.source.summary().rounds().isEmpty(), "no page left the source");
    }

    @Test
    void downgradeOfTheStreamHeader() throws Exception {
        SimRun m = secure(quietVm());
        // dom0 rewrites the destination's stream header to plain mode (SECURE flag cleared)
        m.headerTamper = (d, h) -> {
            if (d == Direction.DESTINATION_TO_SOURCE) {
                h[11] = 0;
            }
            return h;
        };
        m.run();
        assertRejectedAndStillRunning(m);
        AttestationRecord src = record(m.source);
        assertEquals(Outcome.REJECTED, src.outcome());
        assertEquals(Reason.DOWNGRADE.name(), src.reasonName(), src.toString());
        cleanup(m);
    }

    @Test
    void downgradeOfTheSuite() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO)) {
                ByteBuffer.wrap(r.body).putInt(4, 2); // offer a suite this build does not accept
            }
            out.forward(r);
        };
        m.run();
        assertRejectedAndStillRunning(m);
        assertTrue(m.destination.summary().reason().startsWith(Reason.DOWNGRADE.name()),
                m.destination.summary().reason());
        cleanup(m);
    }

    @Test
    void unattestedHost() throws Exception {
        SimRun m = secure(quietVm());
        // dom0 strips the AK certificate chain from HELLO: the source can no longer prove what it runs
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO)) {
                r.body = Arrays.copyOf(r.body, 120);
                ByteBuffer.wrap(r.body).putInt(112, 0).putInt(116, 0);
            }
            out.forward(r);
        };
        m.run();
        assertRejectedAndStillRunning(m);
        assertTrue(m.destination.summary().reason().startsWith(Reason.UNATTESTED.name()),
                m.destination.summary().reason());
        cleanup(m);
    }

    @Test
    void oldPolicyWithheld() throws Exception {
        // dom0 at the destination does not install the new policy: the two hypervisors' serials differ
        cluster.publishPolicyTo("h1");
        try {
            SimRun m = secure(quietVm());
            m.run();
            assertRejectedAndStillRunning(m);
            String reasons = m.source.summary().reason() + " | " + m.destination.summary().reason();
            assertTrue(reasons.contains(Reason.REPLAY.name()) || reasons.contains(Reason.POLICY.name()), reasons);
            cleanup(m);
        } finally {
            cluster.publishPolicy(); // both hosts current again
        }
    }
}
