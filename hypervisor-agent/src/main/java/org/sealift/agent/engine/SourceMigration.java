package org.sealift.agent.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
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
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
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
 * The source side of one migration: the pre-copy round loop and, in secure mode, the forwarding of the hypervisor's
 * handshake, sealed pages and control records. The agent never holds a key or a protected page in plaintext: it
 * copies normal pages from its dom0 mapping and protected ones as the sealed records its hypervisor hands out.
 *
 * <p>Lifecycle (QEMU's SaveVMHandlers shape): {@link #setup()} once, {@link #iterate()} per live round,
 * {@link #complete()} once for stop-and-copy and commit, {@link #cleanup()} exactly once whatever happened.
 * {@link #run()} drives them. Not reusable: one instance per migration.
 */
public final class SourceMigration {

    private static final long MS = 1_000_000L;
    private static final long PROTECTED_BIT_NONE = 0;

    private final HypervisorBackend backend;
    private final int domId;
    private final Optional<String> destinationHostId;
    private final Transport transport;
    private final MigrationOptions options;
    private final EngineConfig config;
    private final List<MigrationListener> listeners;
    private final Ticker ticker;

    private final List<RoundStats> rounds = new ArrayList<>();
    private final List<String> anomalies = new ArrayList<>();
    private final AtomicBoolean cleanedUp = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean cancelRequested;
    private final Object cancelLock = new Object();
    private boolean releasing;

    private volatile OutboundStream out;
    private volatile InboundStream in;
    private Watchdog watchdog;
    private GuestMemory memory;
    private ByteBuffer[] chunks;
    private int chunkPages;
    private SourceSession session;
    private PlainMigration plain;
    private String migrationId = "";
    private String vmName = "";
    private long pageCount;
    private int vcpus;
    private long[] protectedWords = new long[0];
    private StopPolicy stopPolicy;
    private long fixedCostNanos;
    private DirtyBitmap pending;
    private boolean dirtyLogging;

    private volatile MigrationPhase phase;
    private boolean paused;
    private boolean released;
    private boolean finished;
    private long startNanos;
    private long pauseNanos;
    private long resumeSeenNanos;
    /** Consecutive steps of the downtime (name → nanos), see {@link MigrationResult#downtimeSteps}. */
    private final java.util.LinkedHashMap<String, Long> downtimeSteps = new java.util.LinkedHashMap<>();
    private long stepStart;
    /** When the commit was known (DONE verified, or the plain destination's END): the end of the total time. */
    private long committedNanos;
    private MigrationOutcome outcome;
    private String reason = "";
    private Reason failure;
    private boolean inDoubt;

    // reused per batch: no allocation per page
    private long[] scan;
    private long[] normalPfns;
    private boolean[] zero;
    private long[] protectedPfns;
    private int normalCount;
    private int protectedCount;
    /** Sealing requests in flight, oldest first; at most {@link #MAX_SEALING_AHEAD}. */
    private final ArrayDeque<Future<SealedBatch>> sealing = new ArrayDeque<>();
    private static final int MAX_SEALING_AHEAD = 4;
    private ExecutorService sealer;
    private long roundNormal;
    private long roundProtected;
    private long roundZero;

    public SourceMigration(HypervisorBackend backend, int domId, Optional<String> destinationHostId,
            Transport transport, MigrationOptions options, EngineConfig config, List<MigrationListener> listeners) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.domId = domId;
        this.destinationHostId = Objects.requireNonNull(destinationHostId, "destinationHostId");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.options = Objects.requireNonNull(options, "options");
        this.config = Objects.requireNonNull(config, "config");
        this.listeners = List.copyOf(listeners);
        this.ticker = config.ticker();
    }

    /** Runs the whole migration and returns how it ended; never throws for protocol or transport failures. */
    public MigrationResult run() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a SourceMigration runs once; create a new one for a retry");
        }
        startNanos = ticker.nanoTime();
        try {
            setup();
            while (iterate()) {
                checkCancel();
            }
            complete();
        } catch (Exception e) {
            fail(e);
        } finally {
            cleanup();
        }
        return result();
    }

    /**
     * Asks the run to stop. Honoured before RELEASE (the source aborts and resumes the VM); after RELEASE it is
     * refused with that reason, because the destination may already run the VM.
     */
    public boolean cancel() {
        synchronized (cancelLock) {
            if (releasing) {
                return false;
            }
            cancelRequested = true;
            return true;
        }
    }

    /** From here on a cancel is refused: the hypervisor is asked to record RELEASE. */
    private void commitToRelease() throws Cancelled, ProtocolException {
        synchronized (cancelLock) {
            if (cancelRequested) {
                throw new Cancelled();
            }
            if (!watchdog.disarmIfNotFired()) {
                throw new ProtocolException(Reason.DEADLINE, watchdog.fired() + " passed before RELEASE");
            }
            releasing = true;
        }
    }

    private void checkCancel() throws Cancelled {
        if (cancelRequested && !released) {
            throw new Cancelled();
        }
    }

    /** The operator cancelled before RELEASE. */
    static final class Cancelled extends Exception {
        private static final long serialVersionUID = 1L;

        Cancelled() {
            super("cancelled by the operator before RELEASE");
        }
    }

    // ---- setup ------------------------------------------------------------------------------------------------

    void setup() throws IOException, ProtocolException, HypervisorException {
        phase(MigrationPhase.HANDSHAKE);
        var info = backend.domainInfo(domId);
        vmName = info.name();
        pageCount = info.pageCount();
        vcpus = info.config().vcpus();
        watchdog = new Watchdog(ticker, "sealift-src-watchdog", this::deadlinePassed);
        watchdog.deadline("handshake deadline (" + config.deadlines().handshake().toMillis() + " ms)",
                config.deadlines().handshake().toNanos());
        boolean secure = options.mode() == MigrationMode.SECURE;
        if (secure) {
            session = backend.beginSecureSource(new SourceRequest(domId, destinationHostId));
            migrationId = session.id().toString();
        } else {
            plain = backend.beginPlainMigration(domId);
            migrationId = plain.id().toString();
        }
        out = new OutboundStream(transport, secure ? StreamHeader.secureV1() : StreamHeader.plainV1(),
                BandwidthLimiter.ofMiBps(options.bandwidthMiBps(), ticker), config.streamBuffers(),
                "sealift-src-writer");
        in = new InboundStream(transport, 1, "sealift-src-reader");
        // while pages flow the destination says nothing; anything it sends (ABORT, the end of its stream) means it
        // gave up, and the source should stop sending and listen, even if its writer is blocked on a full pipe
        in.onArrival(() -> {
            MigrationPhase p = phase;
            OutboundStream o = out;
            if ((p == MigrationPhase.PRECOPY || p == MigrationPhase.STOP_AND_COPY) && o != null) {
                o.interrupt("the destination ended or aborted the migration while pages were being sent");
            }
        });
        if (secure) {
            long t0 = ticker.nanoTime();
            writeMessage(session.hello());
            out.push();
            InboundStream.Frame reply = expect(RecordType.HELLO_REPLY, "the destination's HELLO_REPLY");
            // the hypervisor judges the peer's header itself (it is in the signed transcript); the check after it
            // only catches a hypervisor that would not
            ProtocolMessage finish = session.onHelloReply(in.rawStreamHeader(), reply.recordBytes());
            checkPeerHeader(true);
            writeMessage(finish);
            out.push();
            // the commit costs about as much as the handshake: signatures and a round trip each way
            fixedCostNanos = ticker.nanoTime() - t0;
            protectedWords = backend.protectedPages(domId).words();
            sealer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "sealift-src-sealer");
                t.setDaemon(true);
                return t;
            });
        } else {
            if (backend.protectedPages(domId).cardinality() > 0) {
                // the hypervisor refused already in beginPlainMigration; this is only a clearer message
                throw new HypervisorException(HypervisorException.Reason.PROTECTED_VM, "VM " + vmName
                        + " has protected processes: migrate it in secure mode");
            }
        }
        watchdog.clearDeadline();
        memory = backend.mapGuestMemory(domId, false);
        chunkPages = memory.maxSlicePages();
        chunks = new ByteBuffer[(int) ((pageCount + chunkPages - 1) / chunkPages)];
        int batch = config.batchPages();
        scan = new long[batch];
        normalPfns = new long[batch];
        zero = new boolean[batch];
        protectedPfns = new long[config.sealPages()];
        stopPolicy = new StopPolicy(options, pageCount * 4096L, 4096 + 8 + (16 + 8 + 8L * batch) / batch);
        backend.enableDirtyLogging(domId);
        dirtyLogging = true;
        backend.readDirtyLog(domId, true); // start clean: round 0 sends everything anyway
        pending = DirtyBitmap.all(pageCount);
        phase(MigrationPhase.PRECOPY);
        // during pre-copy the destination is silent; a stalled peer shows as a writer that makes no progress
        watchdog.silence("pre-copy silence deadline (" + config.deadlines().precopySilence().toMillis() + " ms)",
                this::writerProgress, config.deadlines().precopySilence().toNanos());
    }

    private long writerProgress() {
        OutboundStream o = out;
        // progress is bytes written, or the producer having nothing queued (then nobody waits on the peer)
        return o == null ? 0 : o.bytesWritten() == o.bytesProduced() ? -ticker.nanoTime() : o.bytesWritten();
    }

    private void checkPeerHeader(boolean secure) throws ProtocolException {
        StreamHeader h = in.streamHeader();
        if (h != null && h.secure() != secure) {
            throw new ProtocolException(Reason.DOWNGRADE, "the destination answered with a "
                    + (h.secure() ? "secure" : "plain") + " stream to a " + (secure ? "secure" : "plain")
                    + " migration; both ends must use the same mode");
        }
    }

    // ---- iterate ----------------------------------------------------------------------------------------------

    /** One live round; true if another should follow. */
    boolean iterate() throws IOException, HypervisorException, ProtocolException, Cancelled {
        RoundStats stats = sendRound(pending, false);
        Optional<StopPolicy.Reason> stop = stopPolicy.afterRound(stats, fixedCostNanos);
        return stop.isEmpty();
    }

    private RoundStats sendRound(DirtyBitmap set, boolean stopAndCopy)
            throws IOException, HypervisorException, ProtocolException, Cancelled {
        return sendRound(set, stopAndCopy, false);
    }

    /**
     * @param protectedLast send the normal pages first and ask for the protected pages' sealings after them: in the
     *                      last round the hypervisor seals the MANIFEST meanwhile (it seals every page changed since
     *                      its last sealing), and the sealings asked for then are re-sends it already holds
     */
    private RoundStats sendRound(DirtyBitmap set, boolean stopAndCopy, boolean protectedLast)
            throws IOException, HypervisorException, ProtocolException, Cancelled {
        long t0 = ticker.nanoTime();
        long bytes0 = out.bytesProduced();
        roundNormal = 0;
        roundProtected = 0;
        roundZero = 0;
        normalCount = 0;
        protectedCount = 0;
        long from = 0;
        int n;
        while ((n = set.next(from, scan)) > 0) {
            for (int i = 0; i < n; i++) {
                long pfn = scan[i];
                if (isProtected(pfn)) {
                    if (!protectedLast) {
                        queueProtected(pfn);
                    }
                } else {
                    normalPfns[normalCount++] = pfn;
                    if (normalCount == normalPfns.length) {
                        sendNormal();
                        drainSealed(false);
                    }
                }
            }
            from = scan[n - 1] + 1;
            if (!stopAndCopy) {
                checkCancel();
            }
        }
        if (normalCount > 0) {
            sendNormal();
        }
        if (protectedLast) {
            // a second pass over the same bitmap: the protected pages, now re-sends of what the MANIFEST sealed
            from = 0;
            while ((n = set.next(from, scan)) > 0) {
                for (int i = 0; i < n; i++) {
                    if (isProtected(scan[i])) {
                        queueProtected(scan[i]);
                    }
                }
                from = scan[n - 1] + 1;
            }
        }
        if (protectedCount > 0) {
            sealAndSend();
        }
        drainSealed(true);
        long dirtyLeft;
        if (stopAndCopy) {
            dirtyLeft = 0;
        } else {
            PageBitmap dirty = backend.readDirtyLog(domId, true);
            pending = new DirtyBitmap(dirty.words(), pageCount);
            dirtyLeft = pending.cardinality();
        }
        long duration = Math.max(1, ticker.nanoTime() - t0);
        long bytes = out.bytesProduced() - bytes0;
        RoundStats stats = new RoundStats(rounds.size(), roundNormal, roundProtected, roundZero, bytes, dirtyLeft,
                duration, stopAndCopy);
        rounds.add(stats);
        out.writeData(RecordType.ROUND_STATS, new RoundStatsRecord(stats.round() + 1, roundNormal, roundProtected,
                roundZero, bytes, dirtyLeft, duration, (long) stats.dirtyRatePagesPerSecond()).encode());
        emit(new MigrationEvent.RoundCompleted(migrationId, stats));
        return stats;
    }

    private boolean isProtected(long pfn) {
        int w = (int) (pfn >>> 6);
        return w < protectedWords.length && (protectedWords[w] & (1L << pfn)) != PROTECTED_BIT_NONE;
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

    /** One PAGE_BATCH of the collected normal pages: zero markers for zero pages, data copied from the map. */
    private void sendNormal() throws IOException, HypervisorException {
        int n = normalCount;
        int dataPages = 0;
        for (int i = 0; i < n; i++) {
            long pfn = normalPfns[i];
            ByteBuffer c = chunk((int) (pfn / chunkPages));
            zero[i] = Pages.isZero(c, (pfn % chunkPages) * Pages.SIZE);
            if (!zero[i]) {
                dataPages++;
            }
        }
        int body = 8 + 8 * n + Pages.SIZE * dataPages;
        ByteBuffer b = out.beginRecord(RecordType.PAGE_BATCH, out.nextRecordIndex(), body);
        b.putInt(n).putInt(0);
        for (int i = 0; i < n; i++) {
            b.putLong(zero[i] ? normalPfns[i] | Long.MIN_VALUE : normalPfns[i]);
        }
        int pos = b.position();
        for (int i = 0; i < n; i++) {
            if (!zero[i]) {
                long pfn = normalPfns[i];
                ByteBuffer c = chunk((int) (pfn / chunkPages));
                b.put(pos, c, (int) (pfn % chunkPages) * Pages.SIZE, Pages.SIZE);
                pos += Pages.SIZE;
            }
        }
        b.position(pos);
        roundNormal += dataPages;
        roundZero += n - dataPages;
        normalCount = 0;
    }

    /** Adds a protected pfn to the next sealing request, which goes out once it is full. */
    private void queueProtected(long pfn) throws IOException, HypervisorException {
        protectedPfns[protectedCount++] = pfn;
        if (protectedCount == protectedPfns.length) {
            sealAndSend();
        }
    }

    /**
     * Protected pages go only as the hypervisor's SEALED records, never as plain pages or zero markers. Sealing runs
     * in the hypervisor; asking for it from another thread lets that work overlap with this thread streaming the
     * normal pages, so a quarter of protected memory costs little more time than none.
     */
    private void sealAndSend() throws IOException, HypervisorException {
        long[] pfns = Arrays.copyOf(protectedPfns, protectedCount);
        protectedCount = 0;
        if (sealing.size() >= MAX_SEALING_AHEAD) {
            writeSealed(sealing.poll(), true);
        }
        SourceSession s = session;
        sealing.add(sealer.submit(() -> s.sealPages(pfns, 0, pfns.length)));
    }

    /** The result of a request on the sealing thread; the hypervisor's refusal is rethrown as it was. */
    private static <T> T await(Future<T> f, String what) throws IOException, HypervisorException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the hypervisor " + what);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HypervisorException he) {
                throw he;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("the hypervisor " + what + " failed: " + e.getCause(), e.getCause());
        }
    }

    /** Writes sealings that are done (all of them, waiting, when {@code all}), in the order they were asked for. */
    private void drainSealed(boolean all) throws IOException, HypervisorException {
        while (!sealing.isEmpty() && (all || sealing.peek().isDone())) {
            writeSealed(sealing.poll(), true);
        }
    }

    private void writeSealed(Future<SealedBatch> f, boolean wait) throws IOException, HypervisorException {
        SealedBatch sealed = await(f, "sealed pages");
        out.writeFramed(sealed.records(), sealed.count());
        roundProtected += sealed.count();
        sealed.release(); // copied into the stream's buffers: the backend may reuse its memory
    }

    // ---- complete ---------------------------------------------------------------------------------------------

    /** Stop-and-copy and commit. */
    void complete() throws IOException, HypervisorException, ProtocolException, Cancelled, DestinationAborted {
        checkCancel();
        backend.pause(domId);
        paused = true;
        pauseNanos = ticker.nanoTime();
        stepStart = pauseNanos;
        phase(MigrationPhase.STOP_AND_COPY);
        watchdog.silence(null, null, 0);
        // what the last live round left dirty (already taken from the log) plus what was written since
        DirtyBitmap last = new DirtyBitmap(backend.readDirtyLog(domId, true).words(), pageCount);
        last.or(pending);
        if (options.mode() == MigrationMode.SECURE) {
            long allowance = stopAndCopyAllowanceNanos(last.cardinality(), protectedCount());
            long deadline = config.deadlines().pausedWithoutRelease().toNanos() + allowance;
            watchdog.deadline("paused-without-RELEASE deadline (" + config.deadlines().pausedWithoutRelease().toMillis()
                    + " ms + " + allowance / MS + " ms for " + last.cardinality() + " dirty pages and the MANIFEST)",
                    Math.max(0, deadline - (ticker.nanoTime() - pauseNanos)));
        } else {
            watchdog.silence("silence deadline (" + config.deadlines().precopySilence().toMillis() + " ms)",
                    this::writerProgress, config.deadlines().precopySilence().toNanos());
        }
        // secure: the hypervisor seals the MANIFEST (the VM is paused: every version is final) on the sealing thread
        // while this one streams the last normal pages; the last protected pages' sealings follow as re-sends (asking
        // for them on another thread, while the hypervisor writes FROZEN, measured ~7 ms more downtime: on two cores
        // they compete with the MANIFEST's own work)
        Future<ProtocolMessage> manifest = null;
        if (options.mode() == MigrationMode.SECURE) {
            SourceSession s = session;
            manifest = sealer.submit(s::manifest);
        }
        sendRound(last, true, manifest != null);
        // the guest kernel's view of each vCPU; a protected process's own registers travel only sealed
        for (int v = 0; v < vcpus; v++) {
            out.writeData(RecordType.VCPU_CONTEXT, new VcpuContextRecord(v, backend.vcpuContext(domId, v)).encode());
        }
        if (options.mode() == MigrationMode.SECURE) {
            ProtocolMessage sealedManifest = await(manifest, "sealed the MANIFEST");
            SealedBatch vcpuRecords = session.sealVcpus();
            out.writeFramed(vcpuRecords.records(), vcpuRecords.count());
            step(MigrationResult.STEP_LAST_ROUND);
            writeMessage(sealedManifest);
            out.push();
            step(MigrationResult.STEP_MANIFEST);
            phase(MigrationPhase.AWAITING_READY);
            InboundStream.Frame answer = expectControl("READY");
            if (answer.type() == RecordType.ABORT) {
                throw new DestinationAborted(answer.recordBytes());
            }
            step(MigrationResult.STEP_DESTINATION_CHECK);
            commitToRelease();
            ProtocolMessage release = session.release(answer.recordBytes());
            released = true;
            watchdog.clearDeadline();
            phase(MigrationPhase.RELEASED);
            writeMessage(release);
            out.push();
            step(MigrationResult.STEP_RELEASE);
            // after RELEASE there is no way back for this host: wait for DONE, however long dom0 stalls it
            // twice the destination's READY deadline, so that its ABORT (sent when that deadline passes) arrives
            // before this side stops listening
            watchdog.deadline("DONE not received within twice the destination's READY deadline ("
                    + 2 * config.deadlines().destinationAfterReady().toMillis() + " ms)",
                    2 * config.deadlines().destinationAfterReady().toNanos());
            InboundStream.Frame done = expectControl("DONE");
            if (done.type() == RecordType.ABORT) {
                // the destination aborted after READY (its deadline passed before RELEASE reached it)
                throw new DestinationAborted(done.recordBytes());
            }
            resumeSeenNanos = step(MigrationResult.STEP_RESUME);
            session.onDone(done.recordBytes());
            committedNanos = ticker.nanoTime();
            out.end();
        } else {
            step(MigrationResult.STEP_LAST_ROUND);
            commitToRelease();
            // RELEASED before END goes out: the destination resumes on END and answers with its own END, which may
            // arrive while this side still flushes; in pre-copy an arrival stops the writer (the peer gave up), here
            // it is the commit
            phase(MigrationPhase.RELEASED);
            out.end();
            // the destination ends its stream once it has resumed the VM
            expect(RecordType.END, "the destination's END after it resumed the VM");
            resumeSeenNanos = step(MigrationResult.STEP_RESUME);
            released = true;
            plain.finish(true);
            committedNanos = ticker.nanoTime();
        }
        watchdog.clearDeadline();
        outcome = MigrationOutcome.COMMITTED;
        reason = "completed";
        finished = true;
        try {
            backend.destroyDomain(domId);
        } catch (HypervisorException e) {
            anomalies.add("source domain " + domId + " not destroyed after the commit: " + e.getMessage());
        }
    }

    /** Ends a downtime step now: the time since the previous mark (or the pause) goes to {@code name}. */
    private long step(String name) {
        long now = ticker.nanoTime();
        downtimeSteps.put(name, now - stepStart);
        stepStart = now;
        return now;
    }

    /**
     * The slowest rate at which stop-and-copy data is assumed to move: the paused-without-RELEASE deadline is
     * extended by the time the last dirty pages and the MANIFEST need at this rate (docs/protocol.md §8.1), so a
     * large VM's legitimate stop-and-copy is not cut off, while a stall is still bounded by a known amount.
     */
    static final long STOP_AND_COPY_FLOOR_BYTES_PER_SECOND = 64L << 20;

    /**
     * Extra time for stop-and-copy beyond the fixed deadline: every dirty page at its wire size (a sealed page, the
     * larger) and the MANIFEST's 32-octet entry per protected page, moved and checked at the floor rate.
     */
    static long stopAndCopyAllowanceNanos(long dirtyPages, long protectedPages) {
        long bytes = dirtyPages * (Pages.SIZE + 64) + protectedPages * 32;
        return (long) (bytes * 1e9 / STOP_AND_COPY_FLOOR_BYTES_PER_SECOND);
    }

    private long protectedCount() {
        long n = 0;
        for (long w : protectedWords) {
            n += Long.bitCount(w);
        }
        return n;
    }

    /** The destination refused or gave up; carries its ABORT record for the hypervisor to verify. */
    private static final class DestinationAborted extends Exception {
        private static final long serialVersionUID = 1L;
        final byte[] record;

        DestinationAborted(byte[] record) {
            super("the destination sent ABORT");
            this.record = record;
        }
    }

    private void writeMessage(ProtocolMessage m) throws IOException {
        out.writeFramed(ByteBuffer.wrap(m.bytes()), 1);
    }

    private InboundStream.Frame expect(RecordType type, String what) throws IOException, ProtocolException {
        InboundStream.Frame f = in.next(Long.MAX_VALUE);
        if (f != null && f.type() == RecordType.END && type != RecordType.END) {
            throw new ProtocolException(Reason.TRUNCATED, "the destination ended its stream before " + what
                    + " (it gave up or refused; see its attestation record)");
        }
        if (f == null || f.type() != type) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "expected " + what + ", got "
                    + (f == null ? "nothing" : f.toString()));
        }
        return f;
    }

    /** The next control record from the destination: {@code what}, or ABORT. */
    private InboundStream.Frame expectControl(String what) throws IOException, ProtocolException {
        while (true) {
            InboundStream.Frame f = in.next(Long.MAX_VALUE);
            if (f == null) {
                continue;
            }
            if (f.type() == RecordType.END) {
                throw new ProtocolException(Reason.TRUNCATED, "the destination ended its stream before " + what);
            }
            if (f.type().isControl()) {
                return f;
            }
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "expected " + what + " from the destination, got "
                    + f);
        }
    }

    // ---- failure and cleanup ----------------------------------------------------------------------------------

    private void fail(Exception e) {
        if (!released && !(e instanceof DestinationAborted) && in != null && session != null) {
            // a failed write is often the destination having aborted: its ABORT may be waiting to be read
            byte[] abort = abortFromPeer();
            if (abort != null) {
                destinationAborted(new DestinationAborted(abort));
                return;
            }
        }
        String fired = watchdog == null ? null : watchdog.fired();
        Reason r = fired != null ? Reason.DEADLINE : reasonOf(e);
        String detail = fired != null ? fired + " passed" : messageOf(e);
        failure = r;
        boolean handshake = phase == MigrationPhase.HANDSHAKE;
        if (e instanceof DestinationAborted da) {
            destinationAborted(da);
            return;
        }
        if (released) {
            // no way back: the destination may run the VM. Keep it paused here; DONE, ABORT token or fence decide.
            inDoubt = options.mode() == MigrationMode.SECURE;
            outcome = MigrationOutcome.COMMITTED;
            reason = "released, then " + r + ": " + detail
                    + (inDoubt ? "; the VM stays paused here until DONE arrives (or the destination's ABORT"
                            + " token or a fence is imported)" : "");
            anomalies.add(r + ": " + detail);
            return;
        }
        outcome = handshake ? MigrationOutcome.REJECTED : MigrationOutcome.ABORTED_BY_SOURCE;
        reason = r + ": " + detail;
        if (session != null) {
            try {
                ProtocolMessage abort = session.abort(r, detail);
                tryToSend(abort);
            } catch (HypervisorException he) {
                anomalies.add("the hypervisor did not record ABORT: " + he.getMessage());
            }
        } else if (plain != null) {
            try {
                plain.finish(false);
            } catch (HypervisorException he) {
                anomalies.add("the hypervisor did not end the plain migration: " + he.getMessage());
            }
        }
        resumeLocally();
    }

    /** The destination's ABORT record if one arrived (looks briefly; other records are skipped), else null. */
    private byte[] abortFromPeer() {
        long until = ticker.nanoTime() + 200_000_000L;
        try {
            while (true) {
                InboundStream.Frame f = in.next(Math.max(0, until - ticker.nanoTime()));
                if (f == null || f.type() == RecordType.END) {
                    return null;
                }
                if (f.type() == RecordType.ABORT) {
                    return f.recordBytes();
                }
            }
        } catch (IOException | ProtocolException ex) {
            return null;
        }
    }

    private void destinationAborted(DestinationAborted da) {
        outcome = MigrationOutcome.ABORTED_BY_DESTINATION;
        failure = null;
        try {
            session.acceptAbort(da.record);
            reason = "the destination aborted";
            try {
                MigrationDecision d = session.decision();
                // the hypervisor's detail already reads "aborted by the destination[: why]"
                if (d.detail() != null && !d.detail().isBlank()) {
                    reason = d.detail();
                }
            } catch (HypervisorException ignored) {
                // the reason above stands
            }
        } catch (HypervisorException he) {
            // a forged or tampered ABORT: treat it as our own abort if we have not released
            failure = reasonOf(he);
            reason = failure + ": the destination's ABORT did not verify: " + he.getMessage();
            if (!released) {
                outcome = MigrationOutcome.ABORTED_BY_SOURCE;
                try {
                    tryToSend(session.abort(failure, he.getMessage()));
                } catch (HypervisorException again) {
                    anomalies.add("the hypervisor did not record ABORT: " + again.getMessage());
                }
            } else {
                inDoubt = true;
                outcome = MigrationOutcome.COMMITTED;
                return;
            }
        }
        resumeLocally();
    }

    private void tryToSend(ProtocolMessage abort) {
        try {
            if (out != null) {
                writeMessage(abort);
                out.end();
            }
        } catch (IOException | RuntimeException ioe) {
            // the stream is gone; the destination's own deadline ends its side
        }
    }

    private void resumeLocally() {
        if (!paused) {
            return;
        }
        try {
            backend.resume(domId);
            paused = false;
            resumeSeenNanos = ticker.nanoTime();
        } catch (HypervisorException he) {
            anomalies.add("the VM could not resume here: " + he.getMessage());
        }
    }

    /** Releases everything exactly once: streams, transport, mapping, dirty logging, watchdog. */
    void cleanup() {
        if (!cleanedUp.compareAndSet(false, true)) {
            return;
        }
        if (watchdog != null) {
            watchdog.close();
        }
        if (sealer != null) {
            sealer.shutdownNow();
        }
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
        if (dirtyLogging && !finished) {
            try {
                backend.disableDirtyLogging(domId);
            } catch (HypervisorException e) {
                // the domain may be gone (destroyed after the commit); nothing to undo then
            }
        }
        phase(MigrationPhase.FINISHED);
    }

    private MigrationResult result() {
        long end = committedNanos != 0 ? committedNanos : ticker.nanoTime();
        long downtime = resumeSeenNanos == 0 || pauseNanos == 0 ? 0 : Math.max(0, resumeSeenNanos - pauseNanos);
        if (outcome == null) {
            outcome = MigrationOutcome.ABORTED_BY_SOURCE;
        }
        MigrationSummary summary = new MigrationSummary(migrationId, vmName, options.mode(), outcome, reason, rounds,
                end - startNanos, downtime, anomalies);
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
        if (decision.isPresent() && decision.get().state() == MigrationState.RELEASED) {
            inDoubt = true;
        }
        emit(new MigrationEvent.Finished(migrationId, summary));
        // the steps describe a downtime that ended with the VM running at the destination, nothing else
        return new MigrationResult(summary, Optional.ofNullable(failure), decision, attestation, inDoubt,
                outcome == MigrationOutcome.COMMITTED && !inDoubt ? downtimeSteps : java.util.Map.of());
    }

    static Reason reasonOf(Throwable e) {
        if (e instanceof Cancelled) {
            return Reason.CANCELLED; // the detail names the action: "cancelled by the operator before RELEASE"
        }
        if (e instanceof ProtocolException p) {
            return p.reason();
        }
        if (e instanceof HypervisorException h) {
            if (h.protocolReason().isPresent()) {
                return h.protocolReason().get();
            }
            // the hypervisor is gone or failed: this agent cannot know what it recorded last
            return switch (h.reason()) {
                case UNAVAILABLE, INTERNAL, STATE_IN_DOUBT -> Reason.STATE_IN_DOUBT;
                default -> Reason.UNEXPECTED_RECORD;
            };
        }
        if (e instanceof IOException) {
            return Reason.TRUNCATED;
        }
        return Reason.MALFORMED;
    }

    static String messageOf(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m;
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

    /** The migration id once the hypervisor chose it. */
    public Optional<MigrationId> migrationId() {
        return session == null ? Optional.empty() : Optional.of(session.id());
    }

    int domId() {
        return domId;
    }
}
