package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.engine.attack.StreamInterposer.Record;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AnomalyKind;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.wire.RecordType;

/**
 * Threat → test matrix, the rows a malicious dom0 plays on the agent⇄agent stream. Each test runs the real engine on
 * both ends between two simulated hypervisor processes with a {@link StreamInterposer} in the middle.
 */
class StreamAttackTest extends AttackSuite {

    private static final int PAGE = 1;
    private static final int VCPU = 2;

    private static boolean sourceSealed(Record r, int kind) {
        return r.direction == Direction.SOURCE_TO_DESTINATION && r.is(RecordType.SEALED) && r.sealedKind() == kind;
    }

    @Test
    void tamperPage() throws Exception {
        SimRun m = secure(quietVm());
        AtomicBoolean done = new AtomicBoolean();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && done.compareAndSet(false, true)) {
                r.body[100] ^= 1; // one bit of ciphertext
            }
            out.forward(r);
        };
        m.run();
        assertTrue(done.get());
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void tamperManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            if (r.is(RecordType.MANIFEST)) {
                r.body[r.body.length / 2] ^= 0x40;
            }
            out.forward(r);
        };
        m.run();
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void tamperVcpuContext() throws Exception {
        SimRun m = secure(quietVm());
        AtomicBoolean done = new AtomicBoolean();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, VCPU) && done.compareAndSet(false, true)) {
                r.body[40] ^= 1;
            }
            out.forward(r);
        };
        m.run();
        assertTrue(done.get(), "the source sent a sealed vCPU context");
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    private final java.util.concurrent.atomic.AtomicBoolean held = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * dom0 holds the stream once, at the first sealed page, for 300 ms (delaying is within its power): the protected
     * workload then surely writes newer versions of pages already sent. Without it a fast round 0 of this small VM
     * could converge before any sent page was rewritten, and the replay tests would have nothing to replay.
     */
    private void holdOnce(Record r) {
        if (held.compareAndSet(false, true)) {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void replayPageFromAnEarlierRound() throws Exception {
        // dom0 re-sends an older sealing of a page after its newer version: dropped and counted, the commit stands
        SimRun m = secure(busyVm());
        Map<Long, Record> first = new HashMap<>();
        AtomicInteger replayed = new AtomicInteger();
        m.tamper = (r, out) -> {
            out.forward(r);
            if (sourceSealed(r, PAGE)) {
                holdOnce(r);
                Record old = first.putIfAbsent(r.sealedTarget(), r.copy());
                if (old != null && old.sealedVersion() < r.sealedVersion()) {
                    out.forward(old);
                    replayed.incrementAndGet();
                }
            }
        };
        m.run();
        assertTrue(replayed.get() > 0, "the protected workload made newer versions: " + m.everything());
        assertCommittedIntact(m);
        AttestationRecord dst = record(m.destination);
        assertTrue(anomalies(dst, AnomalyKind.REPLAY) >= replayed.get(), "replays counted in the signed record: "
                + describe(dst.anomalies()));
        assertTrue(m.destination.summary().anomalies().stream().anyMatch(a -> a.startsWith("REPLAY")));
        cleanup(m);
    }

    @Test
    void replayPageFromAnEarlierRoundInsteadOfTheLatest() throws Exception {
        // dom0 withholds every newer sealing: the destination holds stale versions, which the manifest exposes
        SimRun m = secure(busyVm());
        Map<Long, Long> firstVersion = new HashMap<>();
        AtomicInteger withheld = new AtomicInteger();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE)) {
                holdOnce(r);
                Long v = firstVersion.putIfAbsent(r.sealedTarget(), r.sealedVersion());
                if (v != null && v < r.sealedVersion()) {
                    withheld.incrementAndGet();
                    return;
                }
            }
            out.forward(r);
        };
        m.run();
        assertTrue(withheld.get() > 0, m.everything().toString());
        assertAbortedByDestination(m, Reason.MANIFEST_MISMATCH);
        cleanup(m);
    }

    @Test
    void replayPageFromAnEarlierMigration() throws Exception {
        // first attempt: dom0 records the sealed pages, then cuts the stream (the source aborts and resumes)
        SimRun first = secure(quietVm());
        List<Record> captured = new java.util.concurrent.CopyOnWriteArrayList<>();
        first.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE)) {
                captured.add(r.copy());
                if (captured.size() == 200) {
                    out.cut();
                }
            }
            out.forward(r);
        };
        first.run();
        assertEquals(200, captured.size());
        assertEquals(1, runningCopies(first.config.name()));
        cleanup(first);
        // second attempt of the same VM, same pages: dom0 slips the first attempt's sealings in before the real ones
        SimRun second = new SimRun(h1, h2, first.config, running(h1, first.config), first.options);
        second.engine = SHORT;
        AtomicBoolean injected = new AtomicBoolean();
        second.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && injected.compareAndSet(false, true)) {
                out.forward(captured.get(0));
            }
            out.forward(r);
        };
        second.run();
        assertAbortedByDestination(second, Reason.TAMPERED);
        cleanup(second);
    }

    @Test
    void swapTwoPages() throws Exception {
        SimRun m = secure(quietVm());
        AtomicInteger swapped = new AtomicInteger();
        Record[] held = new Record[1];
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && swapped.get() == 0) {
                if (held[0] == null) {
                    held[0] = r;
                    return;
                }
                // each page's sealing now claims the other's pfn
                long a = held[0].sealedTarget();
                long b = r.sealedTarget();
                ByteBuffer.wrap(held[0].body).putLong(16, b);
                ByteBuffer.wrap(r.body).putLong(16, a);
                out.forward(r);
                out.forward(held[0]);
                swapped.incrementAndGet();
                return;
            }
            out.forward(r);
        };
        m.run();
        assertEquals(1, swapped.get());
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void pageOfAnotherProcess() throws Exception {
        SimRun m = secure(twoProcessVm());
        AtomicInteger moved = new AtomicInteger();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && moved.get() == 0) {
                int other = r.sealedProcess() == 1 ? 2 : 1;
                ByteBuffer.wrap(r.body).putInt(4, other);
                moved.incrementAndGet();
            }
            out.forward(r);
        };
        m.run();
        assertEquals(1, moved.get());
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void pageOfAnotherVm() throws Exception {
        // dom0 records a sealed page while another VM migrates and slips it into this VM's migration
        SimRun other = secure(quietVm());
        Record[] foreign = new Record[1];
        other.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && foreign[0] == null) {
                foreign[0] = r.copy();
            }
            out.forward(r);
        };
        other.run();
        cleanup(other);
        SimRun m = secure(quietVm());
        AtomicBoolean injected = new AtomicBoolean();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && injected.compareAndSet(false, true)) {
                out.forward(foreign[0]);
            }
            out.forward(r);
        };
        m.run();
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void vcpuContextsSwapped() throws Exception {
        SimRun m = secure(twoProcessVm());
        Record[] held = new Record[1];
        AtomicBoolean swapped = new AtomicBoolean();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, VCPU) && !swapped.get()) {
                if (held[0] == null) {
                    held[0] = r;
                    return;
                }
                // swap which process (and vCPU) each sealed context claims to belong to
                ByteBuffer a = ByteBuffer.wrap(held[0].body);
                ByteBuffer b = ByteBuffer.wrap(r.body);
                int pa = a.getInt(4);
                long ta = a.getLong(16);
                a.putInt(4, b.getInt(4)).putLong(16, b.getLong(16));
                b.putInt(4, pa).putLong(16, ta);
                out.forward(r);
                out.forward(held[0]);
                swapped.set(true);
                return;
            }
            out.forward(r);
        };
        m.run();
        assertTrue(swapped.get(), "two sealed vCPU contexts passed: " + m.everything());
        assertAbortedByDestination(m, Reason.TAMPERED);
        cleanup(m);
    }

    @Test
    void protectedPageSentAsZeroMarker() throws Exception {
        SimRun m = secure(quietVm());
        AtomicLong victim = new AtomicLong(-1);
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && (victim.get() < 0 || victim.get() == r.sealedTarget())) {
                victim.set(r.sealedTarget());
                // instead of the sealed page, dom0 claims the page is all zeros
                Record zero = new Record(r.direction, r.index, RecordType.PAGE_BATCH.code(), r.sequence,
                        ByteBuffer.allocate(16).putInt(1).putInt(0).putLong(r.sealedTarget() | Long.MIN_VALUE)
                                .array());
                out.forward(zero);
                return;
            }
            out.forward(r);
        };
        m.run();
        assertTrue(victim.get() >= 0);
        assertAbortedByDestination(m, Reason.MANIFEST_MISMATCH);
        assertTrue(m.destination.summary().anomalies().stream().anyMatch(a -> a.contains("zero marker")),
                m.destination.summary().anomalies().toString());
        cleanup(m);
    }

    @Test
    void dropPage() throws Exception {
        SimRun m = secure(quietVm());
        AtomicLong victim = new AtomicLong(-1);
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && (victim.get() < 0 || victim.get() == r.sealedTarget())) {
                victim.set(r.sealedTarget());
                return;
            }
            out.forward(r);
        };
        m.run();
        assertAbortedByDestination(m, Reason.MANIFEST_MISMATCH);
        cleanup(m);
    }

    @Test
    void truncateStream() throws Exception {
        SimRun m = secure(quietVm());
        AtomicInteger pages = new AtomicInteger();
        m.tamper = (r, out) -> {
            if (sourceSealed(r, PAGE) && pages.incrementAndGet() == 300) {
                out.cut();
            }
            out.forward(r);
        };
        m.run();
        assertEquals(300, pages.get());
        // both ends see the stream end early; the source, which keeps its copy, aborts and resumes
        AttestationRecord src = record(m.source);
        assertTrue(List.of("ABORTED_BY_SOURCE", "ABORTED_BY_DESTINATION").contains(src.outcome().name()),
                src.toString());
        assertEquals(Reason.TRUNCATED.name(), record(m.destination).reasonName(), m.everything().toString());
        assertEquals(1, runningCopies(m.config.name()));
        assertEquals(org.sealift.agent.spi.DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        cleanup(m);
    }

    @Test
    void duplicateRelease() throws Exception {
        SimRun m = secure(quietVm());
        m.tamper = (r, out) -> {
            out.forward(r);
            if (r.is(RecordType.RELEASE)) {
                out.forward(r);
            }
        };
        m.run();
        assertCommittedIntact(m);
        assertTrue(m.destination.summary().anomalies().stream().anyMatch(a -> a.contains("after RELEASE")),
                m.destination.summary().anomalies().toString());
        cleanup(m);
    }

    @Test
    void reorderControlRecords() throws Exception {
        // dom0 holds the MANIFEST back; when the source gives up and sends ABORT, it delivers ABORT first
        SimRun m = secure(quietVm());
        m.engine = SOURCE_GIVES_UP_FIRST;
        Record[] held = new Record[1];
        m.tamper = (r, out) -> {
            if (r.is(RecordType.MANIFEST)) {
                held[0] = r;
                return;
            }
            if (r.is(RecordType.ABORT) && r.direction == Direction.SOURCE_TO_DESTINATION && held[0] != null) {
                out.forward(r);
                out.forward(held[0]);
                return;
            }
            out.forward(r);
        };
        m.run();
        assertAbortedBySource(m, Reason.DEADLINE);
        AttestationRecord dst = record(m.destination);
        assertEquals(Reason.REORDERED.name(), dst.reasonName(), m.everything() + " / " + dst);
        assertFalse(dst.outcome().name().equals("COMMITTED"));
        cleanup(m);
    }

    @Test
    void dropManifest() throws Exception {
        SimRun m = secure(quietVm());
        m.engine = SOURCE_GIVES_UP_FIRST;
        m.tamper = (r, out) -> {
            if (!r.is(RecordType.MANIFEST)) {
                out.forward(r);
            }
        };
        m.run();
        // the source's paused-without-RELEASE deadline ends it; the VM runs at the source again
        assertAbortedBySource(m, Reason.DEADLINE);
        assertFalse(record(m.destination).outcome().name().equals("COMMITTED"));
        cleanup(m);
    }
}
