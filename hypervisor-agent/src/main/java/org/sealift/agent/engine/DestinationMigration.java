package org.sealift.agent.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedAcceptance;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.model.RoundStats;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.RoundStatsRecord;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.VcpuContextRecord;

/**
 * The destination side of one migration. A reader thread takes records off the transport while this thread
 * writes normal pages into the new domain's memory and hands sealed records, in batches, to the hypervisor, which
 * alone can open them. The domain runs only when the hypervisor accepts RELEASE (secure) or when the whole plain
 * stream arrived (plain).
 *
 * <p>Lifecycle as on the source: {@link #setup()}, {@link #iterate()} per record batch, {@link #complete()},
 * {@link #cleanup()} exactly once; {@link #run()} drives them.
 */
public final class DestinationMigration {

    /**
     * The domain a destination creates for {@code config}: its memory is what arrives, since its guest never booted
     * here, so no initial fill (a filled one would be written twice, and in plain mode the destination would spend
     * as long filling it as receiving it).
     */
    public static DomainConfig incoming(DomainConfig config) {
        WorkloadSpec w = config.workload();
        return new DomainConfig(config.name(), config.memoryMiB(), config.vcpus(), config.protectedProcesses(),
                new WorkloadSpec(0, w.normalWorkingSetPages(), w.normalDirtyPagesPerSecond(),
                        w.protectedWorkingSetPages(), w.protectedDirtyPagesPerSecond(), w.seed(),
                        w.secretMarkerSeed()));
    }

    private static final ByteBuffer ZERO_PAGE = ByteBuffer.allocateDirect(Pages.SIZE);
    private static final int SEALED_STAGING = 1 << 20;

    private final HypervisorBackend backend;
    private final DomainConfig config;
    private final Optional<String> sourceHostId;
    private final Transport transport;
    private final MigrationMode mode;
    private final EngineConfig engine;
    private final List<MigrationListener> listeners;
    private final Ticker ticker;

    private final List<RoundStats> rounds = new ArrayList<>();
    private final List<String> anomalies = java.util.Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean cleanedUp = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();

    private volatile InboundStream in;
    private volatile OutboundStream out;
    private Watchdog watchdog;
    private DestinationSession session;
    private int domId = -1;
    private GuestMemory memory;
    private ByteBuffer[] chunks;
    private int chunkPages;
    private long pageCount;
    private long[] protectedWords = new long[0];
    private ByteBuffer sealed = ByteBuffer.allocateDirect(SEALED_STAGING);
    private final java.util.concurrent.BlockingQueue<ByteBuffer> freeStaging =
            new java.util.concurrent.ArrayBlockingQueue<>(2);
    private final java.util.ArrayDeque<Future<SealedAcceptance>> opening = new java.util.ArrayDeque<>();
    private final ExecutorService opener = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "sealift-dst-opener");
        t.setDaemon(true);
        return t;
    });
    private int sealedCount;
    private InboundStream.Frame pushedBack;
    private long[] entries = new long[1024];
    /** Pages this migration wrote data into; the others are still as the new domain got them: zero. */
    private long[] written = new long[0];

    private MigrationPhase phase;
    private String migrationId = "";
    private boolean resumed;
    private boolean readySent;
    private long readyAtNanos;
    private boolean manifestSeen;
    private long startNanos;
    private MigrationOutcome outcome;
    private String reason = "";
    private Reason failure;
    private volatile long staleDropped;
    private long protectedAsPlain;

    public DestinationMigration(HypervisorBackend backend, DomainConfig config, Optional<String> sourceHostId,
            Transport transport, MigrationMode mode, EngineConfig engine, List<MigrationListener> listeners) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.config = Objects.requireNonNull(config, "config");
        this.sourceHostId = Objects.requireNonNull(sourceHostId, "sourceHostId");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.listeners = List.copyOf(listeners);
        this.ticker = engine.ticker();
        for (int i = 0; i < 2; i++) {
            freeStaging.add(ByteBuffer.allocateDirect(SEALED_STAGING));
        }
    }

    /** Receives the whole migration and returns how it ended; never throws for protocol or transport failures. */
    public MigrationResult run() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a DestinationMigration runs once; create a new one for a retry");
        }
        startNanos = ticker.nanoTime();
        try {
            setup();
            while (iterate()) {
                // records until MANIFEST (secure) or END (plain)
            }
            complete();
        } catch (Exception e) {
            fail(e);
        } finally {
            cleanup();
        }
        return result();
    }

    // ---- setup ------------------------------------------------------------------------------------------------

    void setup() throws IOException, ProtocolException, HypervisorException {
        phase(MigrationPhase.HANDSHAKE);
        boolean secure = mode == MigrationMode.SECURE;
        watchdog = new Watchdog(ticker, "sealift-dst-watchdog", this::deadlinePassed);
        watchdog.deadline("handshake deadline (" + engine.deadlines().handshake().toMillis() + " ms)",
                engine.deadlines().handshake().toNanos());
        DomainConfig incoming = incoming(config);
        if (secure) {
            session = backend.openSecureDestination(new DestinationRequest(incoming, sourceHostId,
                    engine.deadlines().destinationAfterReady().toMillis()));
            domId = session.domId();
        } else {
            domId = backend.createDomain(incoming).domId();
        }
        in = new InboundStream(transport, engine.streamBuffers(), "sealift-dst-reader");
        out = new OutboundStream(transport, secure ? StreamHeader.secureV1() : StreamHeader.plainV1(),
                BandwidthLimiter.unlimited(), 2, "sealift-dst-writer");
        StreamHeader h = in.awaitHeader(Long.MAX_VALUE);
        if (h == null || h.secure() != secure) {
            throw new ProtocolException(secure ? Reason.DOWNGRADE : Reason.UNEXPECTED_RECORD, "the source sent a "
                    + (h != null && h.secure() ? "secure" : "plain") + " stream, this destination expects a "
                    + mode + " migration of " + config.name() + "; start both ends in the same mode");
        }
        if (secure) {
            InboundStream.Frame hello = next();
            requireType(hello, RecordType.HELLO);
            writeMessage(session.onHello(in.rawStreamHeader(), hello.recordBytes()));
            out.push();
            migrationId = session.id().toString();
            InboundStream.Frame finish = next();
            requireType(finish, RecordType.FINISH);
            session.onFinish(finish.recordBytes());
            protectedWords = backend.protectedPages(domId).words();
        }
        watchdog.clearDeadline();
        memory = backend.mapGuestMemory(domId, true);
        pageCount = memory.pageCount();
        chunkPages = memory.maxSlicePages();
        chunks = new ByteBuffer[(int) ((pageCount + chunkPages - 1) / chunkPages)];
        written = new long[(int) ((pageCount + 63) >>> 6)];
        phase(MigrationPhase.PRECOPY);
        watchdog.silence("pre-copy silence deadline (" + engine.deadlines().precopySilence().toMillis() + " ms)",
                in::bytesRead, engine.deadlines().precopySilence().toNanos());
    }

    private void requireType(InboundStream.Frame f, RecordType t) throws ProtocolException {
        if (f.type() != t) {
            throw new ProtocolException(f.type() == RecordType.END ? Reason.TRUNCATED : Reason.UNEXPECTED_RECORD,
                    "expected " + t + " from the source, got " + f);
        }
    }

    private InboundStream.Frame next() throws IOException, ProtocolException {
        InboundStream.Frame f = pushedBack;
        if (f != null) {
            pushedBack = null;
            return f;
        }
        return in.next(Long.MAX_VALUE);
    }

    // ---- iterate ----------------------------------------------------------------------------------------------

    /** Handles the next record; false once the final one (MANIFEST, or END in plain mode) is reached. */
    boolean iterate() throws IOException, ProtocolException, HypervisorException {
        InboundStream.Frame f = next();
        switch (f.type()) {
            case PAGE_BATCH:
                try {
                    applyBatch(f.body());
                } finally {
                    f.release();
                }
                return true;
            case SEALED:
                if (session == null) {
                    throw new ProtocolException(Reason.UNEXPECTED_RECORD, "a SEALED record in a plain migration;"
                            + " protected pages travel only in secure mode");
                }
                stageSealed(f);
                return true;
            case VCPU_CONTEXT:
                awaitSealed();
                VcpuContextRecord v = VcpuContextRecord.decode(f.bodyBytes());
                backend.setVcpuContext(domId, v.vcpuId(), v.context());
                return true;
            case ROUND_STATS:
                RoundStatsRecord r = RoundStatsRecord.decode(f.bodyBytes());
                RoundStats stats = new RoundStats(Math.max(0, r.round() - 1), r.normalPages(), r.protectedPages(),
                        r.zeroPages(), r.bytes(), r.dirtyPagesLeft(), r.durationNanos(), false);
                rounds.add(stats);
                emit(new MigrationEvent.RoundCompleted(migrationId, stats));
                return true;
            case MANIFEST:
                if (session == null) {
                    throw new ProtocolException(Reason.UNEXPECTED_RECORD, "a MANIFEST in a plain migration");
                }
                awaitSealed();
                pushedBack = f;
                return false;
            case END:
                if (session != null) {
                    throw new ProtocolException(Reason.TRUNCATED, "the source ended its stream before the MANIFEST;"
                            + " the migration of " + config.name() + " cannot complete");
                }
                return false;
            case ABORT:
                if (session == null) {
                    throw new ProtocolException(Reason.UNEXPECTED_RECORD, "an ABORT in a plain migration");
                }
                awaitSealed();
                pushedBack = f;
                return false;
            default:
                throw new ProtocolException(Reason.UNEXPECTED_RECORD, f + " is not allowed during pre-copy");
        }
    }

    /** Sealed records are staged and handed over in batches: one hypervisor call per megabyte, not per page. */
    private void stageSealed(InboundStream.Frame first) throws IOException, ProtocolException, HypervisorException {
        InboundStream.Frame f = first;
        while (true) {
            ByteBuffer rec = f.record();
            if (rec.remaining() > sealed.remaining()) {
                flushSealed();
            }
            if (rec.remaining() > sealed.remaining()) {
                // a sealed vCPU context larger than the staging buffer goes alone, after what came before it
                awaitSealed();
                session.acceptSealed(rec);
                f.release();
            } else {
                sealed.put(rec);
                sealedCount++;
                f.release();
            }
            InboundStream.Frame more = in.next(0);
            if (more == null) {
                break;
            }
            if (more.type() != RecordType.SEALED) {
                pushedBack = more;
                break;
            }
            f = more;
        }
        if (sealed.position() >= SEALED_STAGING / 2 || pushedBack != null) {
            flushSealed();
        }
    }

    /**
     * Hands the staged sealed records to the hypervisor on the opener thread, so that its opening overlaps with
     * this thread writing normal pages; the next staging buffer comes from a small pool. Order among sealed
     * records is kept (one opener thread); {@link #awaitSealed()} is the barrier before anything that depends on
     * them (vCPU state, MANIFEST, ABORT).
     */
    private void flushSealed() throws HypervisorException {
        checkOpener();
        if (sealedCount == 0) {
            return;
        }
        ByteBuffer batch = sealed.flip();
        sealedCount = 0;
        try {
            sealed = freeStaging.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException(HypervisorException.Reason.INTERNAL, "interrupted while staging sealed pages");
        }
        DestinationSession s = session;
        opening.add(opener.submit(() -> {
            try {
                SealedAcceptance a = s.acceptSealed(batch);
                if (a.staleDropped() > 0) {
                    synchronized (anomalies) {
                        if (staleDropped == 0) {
                            anomalies.add("REPLAY: the hypervisor dropped " + a.staleDropped()
                                    + " sealed record(s) older than the version it holds");
                        }
                        staleDropped += a.staleDropped();
                    }
                }
                return a;
            } finally {
                batch.clear();
                freeStaging.add(batch);
            }
        }));
    }

    /** Waits until the hypervisor took every sealed record handed over so far; rethrows its refusal. */
    private void awaitSealed() throws HypervisorException {
        flushSealed();
        while (!opening.isEmpty()) {
            result(opening.poll());
        }
    }

    /** Surfaces a refusal of an earlier batch without waiting for the ones still running. */
    private void checkOpener() throws HypervisorException {
        while (!opening.isEmpty() && opening.peek().isDone()) {
            result(opening.poll());
        }
    }

    private static void result(Future<SealedAcceptance> f) throws HypervisorException {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException(HypervisorException.Reason.INTERNAL, "interrupted while the hypervisor"
                    + " opened sealed pages");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HypervisorException he) {
                throw he;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("opening sealed pages failed: " + e.getCause(), e.getCause());
        }
    }

    private ByteBuffer chunk(int index) throws HypervisorException {
        ByteBuffer c = chunks[index];
        if (c == null) {
            long first = (long) index * chunkPages;
            int count = (int) Math.min(chunkPages, pageCount - first);
            c = memory.slice(first, count).order(ByteOrder.nativeOrder());
            chunks[index] = c;
        }
        return c;
    }

    /** Checks a PAGE_BATCH body (docs/protocol.md §4.1) and writes its pages into guest memory. */
    private void applyBatch(ByteBuffer body) throws ProtocolException, HypervisorException {
        int len = body.limit();
        int count = body.getInt(0);
        if (count < 1 || count > 1024 || body.getInt(4) != 0) {
            throw new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: count " + Integer.toUnsignedString(count)
                    + " outside 1..1024 or reserved field not zero");
        }
        if (8L + 8L * count > len) {
            throw new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: " + count + " entries do not fit " + len
                    + " octets");
        }
        int dataPages = 0;
        boolean ascending = true;
        long prev = -1;
        for (int i = 0; i < count; i++) {
            long e = body.getLong(8 + 8 * i);
            long pfn = e & ((1L << 52) - 1);
            if ((e & 0x7ff0_0000_0000_0000L) != 0) {
                throw new ProtocolException(Reason.MALFORMED, String.format(
                        "PAGE_BATCH: entry %d (0x%016x) has reserved bits set", i, e));
            }
            if (pfn >= pageCount) {
                throw new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: pfn " + pfn + " is outside the "
                        + pageCount + " pages of " + config.name());
            }
            if (e >= 0) {
                dataPages++;
            }
            ascending &= pfn > prev;
            prev = pfn;
            entries[i] = e;
        }
        if (8L + 8L * count + (long) Pages.SIZE * dataPages != len) {
            throw new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: body is " + len + " octets but " + count
                    + " entries need " + (8L + 8L * count + (long) Pages.SIZE * dataPages));
        }
        if (!ascending) {
            long[] sorted = Arrays.copyOf(entries, count);
            for (int i = 0; i < count; i++) {
                sorted[i] &= (1L << 52) - 1;
            }
            Arrays.sort(sorted);
            for (int i = 1; i < count; i++) {
                if (sorted[i] == sorted[i - 1]) {
                    throw new ProtocolException(Reason.MALFORMED, "PAGE_BATCH: pfn " + sorted[i]
                            + " appears twice in one batch");
                }
            }
        }
        int data = 8 + 8 * count;
        for (int i = 0; i < count; i++) {
            long e = entries[i];
            long pfn = e & ((1L << 52) - 1);
            boolean isZero = e < 0;
            if (isProtected(pfn)) {
                // a protected page never travels in plain; the hypervisor's copy stays authoritative and its
                // manifest check will find the page missing. Nothing is written through dom0's map.
                if (protectedAsPlain++ == 0) {
                    anomalies.add("protected pfn " + pfn + " arrived as a " + (isZero ? "zero marker" : "plain page")
                            + "; ignored");
                }
            } else {
                ByteBuffer c = chunk((int) (pfn / chunkPages));
                int off = (int) (pfn % chunkPages) * Pages.SIZE;
                int w = (int) (pfn >>> 6);
                long bit = 1L << pfn;
                if (isZero) {
                    // a fresh domain's memory is zero already; only a page this migration filled earlier needs
                    // clearing (touching the others, even to read them, would allocate their memory)
                    if ((written[w] & bit) != 0) {
                        c.put(off, ZERO_PAGE, 0, Pages.SIZE);
                        written[w] &= ~bit;
                    }
                } else {
                    c.put(off, body, data, Pages.SIZE);
                    written[w] |= bit;
                }
            }
            if (!isZero) {
                data += Pages.SIZE;
            }
        }
    }

    private boolean isProtected(long pfn) {
        int w = (int) (pfn >>> 6);
        return w < protectedWords.length && (protectedWords[w] & (1L << pfn)) != 0;
    }

    // ---- complete ---------------------------------------------------------------------------------------------

    void complete() throws IOException, ProtocolException, HypervisorException {
        watchdog.silence(null, null, 0);
        if (session == null) {
            // plain: everything arrived; resume, then tell the source by ending our stream
            backend.resume(domId);
            resumed = true;
            out.end();
            outcome = MigrationOutcome.COMMITTED;
            reason = "completed";
            return;
        }
        InboundStream.Frame f = next();
        if (f.type() == RecordType.ABORT) {
            sourceAborted(f);
            return;
        }
        manifestSeen = true;
        phase(MigrationPhase.AWAITING_READY);
        ProtocolMessage ready = session.onManifest(f.recordBytes());
        writeMessage(ready);
        out.push();
        readySent = true;
        readyAtNanos = ticker.nanoTime();
        watchdog.deadline("no RELEASE within the READY deadline ("
                + engine.deadlines().destinationAfterReady().toMillis() + " ms)",
                engine.deadlines().destinationAfterReady().toNanos());
        InboundStream.Frame answer = next();
        if (answer.type() == RecordType.ABORT) {
            sourceAborted(answer);
            return;
        }
        if (answer.type() != RecordType.RELEASE) {
            throw new ProtocolException(answer.type() == RecordType.END ? Reason.TRUNCATED : Reason.UNEXPECTED_RECORD,
                    "expected RELEASE or ABORT after READY, got " + answer);
        }
        ProtocolMessage done = session.onRelease(answer.recordBytes());
        resumed = true;
        watchdog.clearDeadline();
        phase(MigrationPhase.RELEASED);
        outcome = MigrationOutcome.COMMITTED;
        reason = "completed";
        try {
            writeMessage(done);
            out.end();
        } catch (IOException e) {
            // the VM runs here already; the source gets DONE through the token path if the stream is gone
            anomalies.add("DONE could not be sent to the source: " + e.getMessage());
        }
        drainAfterRelease();
    }

    /**
     * Reads what the source still sends after RELEASE (only END is expected) so that a duplicated or injected
     * control record is shown to the hypervisor, which refuses it, and recorded as an anomaly.
     */
    private void drainAfterRelease() {
        long until = ticker.nanoTime() + engine.deadlines().handshake().toNanos();
        try {
            while (true) {
                InboundStream.Frame f = in.next(Math.max(0, until - ticker.nanoTime()));
                if (f == null || f.type() == RecordType.END) {
                    return;
                }
                try {
                    if (f.type() == RecordType.RELEASE) {
                        session.onRelease(f.recordBytes());
                    }
                    anomalies.add("UNEXPECTED_RECORD: " + f + " after RELEASE");
                } catch (HypervisorException e) {
                    anomalies.add(e.protocolReason().map(Enum::name).orElse(e.reason().name()) + ": " + f
                            + " after RELEASE refused by the hypervisor: " + e.getMessage());
                } finally {
                    f.release();
                }
            }
        } catch (IOException | ProtocolException e) {
            // the source's stream ended badly after the commit; nothing depends on it any more
        }
    }

    private void sourceAborted(InboundStream.Frame f) throws HypervisorException {
        session.acceptAbort(f.recordBytes());
        outcome = MigrationOutcome.ABORTED_BY_SOURCE;
        reason = "the source aborted";
        try {
            reason = "the source aborted: " + session.decision().detail();
        } catch (HypervisorException ignored) {
            // the reason above stands
        }
    }

    private void writeMessage(ProtocolMessage m) throws IOException {
        out.writeFramed(ByteBuffer.wrap(m.bytes()), 1);
    }

    // ---- failure and cleanup ----------------------------------------------------------------------------------

    private void fail(Exception e) {
        String fired = watchdog == null ? null : watchdog.fired();
        Reason r = fired != null ? Reason.DEADLINE : SourceMigration.reasonOf(e);
        String detail = fired != null ? fired + " passed" : SourceMigration.messageOf(e);
        failure = r;
        if (resumed) {
            // the VM runs here; a failure afterwards (DONE not delivered) changes nothing about the outcome
            anomalies.add(r + ": " + detail);
            return;
        }
        if (readySent && fired == null && session != null) {
            if (awaitDecisionOutOfBand(r + ": " + detail)) {
                return;
            }
            detail = "no RELEASE, ABORT or fence within the READY deadline after the stream was lost (" + r + ": "
                    + detail + ")";
            r = Reason.DEADLINE;
            failure = r;
        }
        boolean handshake = phase == MigrationPhase.HANDSHAKE;
        outcome = handshake ? MigrationOutcome.REJECTED : MigrationOutcome.ABORTED_BY_DESTINATION;
        reason = r + ": " + detail;
        if (session != null) {
            try {
                ProtocolMessage abort = session.abort(r, detail);
                try {
                    writeMessage(abort);
                    out.end();
                } catch (IOException | RuntimeException ioe) {
                    // the stream is gone; the source learns it through its own deadline or the ABORT token
                }
            } catch (HypervisorException he) {
                anomalies.add("the hypervisor did not record ABORT: " + he.getMessage());
                if (he.reason() == HypervisorException.Reason.REFUSED
                        || he.reason() == HypervisorException.Reason.STATE_IN_DOUBT) {
                    reason = reason + " (ABORT refused: " + he.getMessage() + ")";
                }
            }
        } else if (domId >= 0) {
            try {
                backend.destroyDomain(domId);
            } catch (HypervisorException he) {
                anomalies.add("the incoming domain " + domId + " was not destroyed: " + he.getMessage());
            }
        }
    }

    /**
     * The stream broke after READY: this host holds a complete verified copy, and the source may have released it.
     * Instead of giving the copy up at once, wait until the READY deadline for the decision to arrive another way
     * (an operator imports the source's RELEASE or ABORT token, or a fence). True if it was decided meanwhile.
     */
    private boolean awaitDecisionOutOfBand(String why) {
        anomalies.add("stream lost after READY (" + why + "); waiting for RELEASE/ABORT token or fence until the"
                + " READY deadline");
        long until = readyAtNanos + engine.deadlines().destinationAfterReady().toNanos();
        while (ticker.nanoTime() < until) {
            try {
                MigrationDecision d = session.decision();
                switch (d.state()) {
                    case RESUMING, COMMITTED, FENCED -> {
                        resumed = true;
                        outcome = MigrationOutcome.COMMITTED;
                        failure = null;
                        reason = d.state() == org.sealift.agent.spi.MigrationState.FENCED
                                ? "fenced by an operator: " + d.detail() : "completed through the token path";
                        return true;
                    }
                    case ABORTED_BY_SOURCE, ABORTED_BY_DESTINATION -> {
                        outcome = d.state() == org.sealift.agent.spi.MigrationState.ABORTED_BY_SOURCE
                                ? MigrationOutcome.ABORTED_BY_SOURCE : MigrationOutcome.ABORTED_BY_DESTINATION;
                        reason = d.detail();
                        return true;
                    }
                    default -> ticker.sleepNanos(50_000_000L);
                }
            } catch (HypervisorException e) {
                anomalies.add("cannot read the decision while waiting: " + e.getMessage());
                return false;
            }
        }
        failure = Reason.DEADLINE;
        return false;
    }

    /** Releases everything exactly once. */
    void cleanup() {
        if (!cleanedUp.compareAndSet(false, true)) {
            return;
        }
        if (watchdog != null) {
            watchdog.close();
        }
        if (pushedBack != null) {
            pushedBack.release();
        }
        opener.shutdownNow();
        if (out != null) {
            out.close();
        }
        if (in != null) {
            in.close();
        }
        transport.close();
        if (memory != null) {
            memory.close();
        }
        phase(MigrationPhase.FINISHED);
    }

    private MigrationResult result() {
        long end = ticker.nanoTime();
        if (outcome == null) {
            outcome = MigrationOutcome.ABORTED_BY_DESTINATION;
        }
        MigrationSummary summary = new MigrationSummary(migrationId, config.name(), mode, outcome, reason, rounds,
                end - startNanos, 0, anomalies);
        Optional<MigrationDecision> decision = Optional.empty();
        Optional<SignedAttestation> attestation = Optional.empty();
        if (session != null) {
            try {
                decision = Optional.of(session.decision());
                attestation = Optional.of(backend.signAttestation(session.id(), AgentStatistics.encode(summary)));
            } catch (HypervisorException e) {
                anomalies.add("no attestation from the hypervisor: " + e.getMessage());
            }
        }
        emit(new MigrationEvent.Finished(migrationId, summary));
        return new MigrationResult(summary, Optional.ofNullable(failure), decision, attestation, false);
    }

    /**
     * The watchdog fired: wake a wait for the peer so the run can abort and still send ABORT; only a writer stuck
     * on a peer that stopped reading needs the transport closed under it.
     */
    private void deadlinePassed() {
        InboundStream i = in;
        OutboundStream o = out;
        if (i != null) {
            i.wake(watchdog.fired());
        }
        if (i == null || o == null || o.backlogged()) {
            transport.close();
        }
    }

    private void phase(MigrationPhase p) {
        phase = p;
        emit(new MigrationEvent.PhaseChanged(migrationId, p));
    }

    private void emit(MigrationEvent e) {
        MigrationListener.fanOut(listeners, e);
    }

    /** The local domain receiving the VM, -1 before it exists. */
    public int domId() {
        return domId;
    }

    /** Sealed records the hypervisor dropped as older than what it held (replay anomalies). */
    public long staleDropped() {
        return staleDropped;
    }
}
