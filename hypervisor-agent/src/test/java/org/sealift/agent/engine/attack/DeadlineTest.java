package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.wire.RecordType;

/**
 * Threat → test matrix, "stall past each deadline": dom0 stops forwarding at each phase; the deadline of that phase
 * ends the migration with exactly one running copy, the source's when nothing was released.
 */
class DeadlineTest extends AttackSuite {

    @Test
    void stallPastTheHandshakeDeadline() throws Exception {
        SimRun m = secure(quietVm());
        m.engine = SHORT.withDeadlines(new org.sealift.agent.engine.Deadlines(java.time.Duration.ofSeconds(2),
                java.time.Duration.ofSeconds(3), java.time.Duration.ofSeconds(3), java.time.Duration.ofSeconds(3)));
        m.tamper = (r, out) -> {
            if (r.is(RecordType.HELLO_REPLY)) {
                out.stall(); // the source never gets the reply, the destination never gets FINISH
            }
            out.forward(r);
        };
        m.run();
        for (var r : java.util.List.of(m.source, m.destination)) {
            AttestationRecord rec = record(r);
            assertEquals(Reason.DEADLINE.name(), rec.reasonName(), m.everything() + " / " + rec);
            assertEquals(Outcome.REJECTED, rec.outcome(), rec.toString());
        }
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), "the VM never stopped at the source");
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void stallPastThePrecopySilenceDeadline() throws Exception {
        SimRun m = secure(quietVm());
        AtomicInteger sealed = new AtomicInteger();
        m.tamper = (r, out) -> {
            if (r.is(RecordType.SEALED) && sealed.incrementAndGet() == 100) {
                out.stall();
            }
            out.forward(r);
        };
        m.run();
        // whichever side's silence deadline passes first aborts; the source keeps and resumes the VM either way
        AttestationRecord dst = record(m.destination);
        assertEquals(Reason.DEADLINE.name(), dst.reasonName(), m.everything() + " / " + dst);
        AttestationRecord src = record(m.source);
        assertTrue(src.outcome() == Outcome.ABORTED_BY_SOURCE || src.outcome() == Outcome.ABORTED_BY_DESTINATION,
                src.toString());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void stallPastThePausedWithoutReleaseDeadline() throws Exception {
        SimRun m = secure(quietVm());
        m.engine = SOURCE_GIVES_UP_FIRST;
        m.tamper = (r, out) -> {
            if (r.is(RecordType.READY)) {
                out.stall(); // READY never reaches the source
            }
            out.forward(r);
        };
        m.run();
        assertAbortedBySource(m, Reason.DEADLINE);
        // the source's ABORT did reach the destination, which gave up its verified copy
        assertEquals(Outcome.ABORTED_BY_SOURCE, record(m.destination).outcome(), m.everything().toString());
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(m.dstDom).state());
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom), "the source kept what it sealed");
        cleanup(m);
    }

    @Test
    void stallPastTheDestinationAfterReadyDeadline() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(RecordType.RELEASE)) {
                out.stall(); // the source released; the destination never hears of it
            }
            out.forward(r);
        };
        m.run();
        // the destination's deadline aborts it; its ABORT reaches the released source, which may then resume
        AttestationRecord dst = record(m.destination);
        assertEquals(Outcome.ABORTED_BY_DESTINATION, dst.outcome(), m.everything() + " / " + dst);
        assertEquals(Reason.DEADLINE.name(), dst.reasonName());
        assertEquals(Outcome.ABORTED_BY_DESTINATION, record(m.source).outcome(), m.everything().toString());
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(m.dstDom).state());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom), "the source kept what it sealed");
        cleanup(m);
    }

    @Test
    void stallBothWaysAfterReleaseThenTheAbortTokenGivesTheVmBackToTheSource() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(RecordType.RELEASE) || r.direction == Direction.DESTINATION_TO_SOURCE && r.is(RecordType.ABORT)) {
                out.stall();
            }
            out.forward(r);
        };
        m.run();
        // released but never confirmed: the source holds its copy paused and in doubt
        assertTrue(m.source.inDoubt(), m.everything().toString());
        assertEquals(MigrationState.RELEASED, m.source.decision().orElseThrow().state());
        assertEquals(DomainState.RELEASED, h1.domainInfo(m.srcDom).state());
        assertEquals(0, runningCopies(m.config.name()), "nothing runs while in doubt");
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(m.dstDom).state());
        // the operator carries the destination's ABORT token to the source
        byte[] abort = h2.exportToken(m.destinationSession.id(), TokenKind.ABORT);
        h1.importToken(abort);
        h1.resume(m.srcDom);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom));
        cleanup(m);
    }
}
