package org.sealift.hypervisor.sim;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import javax.crypto.SecretKey;

import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedAcceptance;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.control.ControlReceiver;
import org.sealift.protocol.control.ControlSender;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.HandshakeResult;
import org.sealift.protocol.handshake.Initiator;
import org.sealift.protocol.handshake.Responder;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Fence;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.SignedPolicy;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.token.Token;
import org.sealift.protocol.token.TokenKind;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hypervisor side of migrations: the per-VM lock, plain mode, and the secure protocol runs (handshake, sealing,
 * MANIFEST, commit tokens) with the commit rules of PROTOCOL.md ("Where the trusted state lives"). Session keys and
 * handshake state live only here and are never persisted; decisions go to the sealed state before they take effect.
 * Lock order: a run's monitor, then the hypervisor's.
 */
final class Migrations {

    private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
    static final int SEALED_PAGE_RECORD = RecordEncoder.encodedLength(SealedBlob.PAGE_BODY_LENGTH);

    private final SimHypervisor hv;
    private final Map<Long, Object> runs = new ConcurrentHashMap<>();
    private final Map<MigrationId, Long> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final Thread sweeper;
    private volatile boolean closed;

    Migrations(SimHypervisor hv) {
        this.hv = hv;
        this.sweeper = new Thread(this::sweep, "ready-deadline-sweeper");
        sweeper.setDaemon(true);
        sweeper.start();
    }

    /** The source's run of one secure migration (session keys and sealer: never persisted). */
    final class SourceRun {
        final long handle;
        final Domain domain;
        final MigrationRecord rec;
        final Initiator initiator;
        final byte[] helloRecord;
        /** Sealed pages (in shared slots), contexts and the MANIFEST table; made once the keys exist. */
        SourceSealing sealing;
        /** Sealing requests hold it shared; the MANIFEST and the end of the run hold it alone. */
        final ReentrantReadWriteLock sealLock = new ReentrantReadWriteLock();
        /** The MANIFEST is sealed: nothing more is (guarded by sealLock). */
        boolean frozen;
        ControlSender sender;
        ControlReceiver receiver;
        HandshakeResult session;
        byte[] abortRecord;

        SourceRun(long handle, Domain domain, MigrationRecord rec, Initiator initiator, byte[] helloRecord) {
            this.handle = handle;
            this.domain = domain;
            this.rec = rec;
            this.initiator = initiator;
            this.helloRecord = helloRecord;
        }
    }

    /**
     * Where sealing {@link Migrations#sealPages} left a batch: per page the position of its SEALED record (a {@link
     * SourceSealing#PAGE_RECORD}-octet record) in the slot file that dom0 reads, and the version it holds.
     */
    record SealedSlots(String file, long[] pfns, long[] versions, long[] positions) {
    }

    /** The destination's run: responder, opener, the store of verified plaintext (never persisted). */
    final class DestinationRun {
        final long handle;
        final Domain domain;
        final DestinationRequest request;
        final Responder responder;
        MigrationRecord rec;
        HandshakeResult session;
        /** What arrived and authenticated, kept in the incoming domain until verification (never persisted). */
        ReceivedState received;
        ControlSender sender;
        ControlReceiver receiver;
        long readyDeadline = Long.MAX_VALUE;
        boolean verificationFailed;
        byte[] abortRecord;

        DestinationRun(long handle, Domain domain, DestinationRequest request, Responder responder) {
            this.handle = handle;
            this.domain = domain;
            this.request = request;
            this.responder = responder;
        }
    }

    // ---- lookups ---------------------------------------------------------------------------------------------

    /**
     * Finished sessions kept for their agent's late questions (decision, id, domain) after the outcome; older ones
     * are dropped, with their tables (MANIFEST table, received versions and tags: megabytes per GiB protected), so
     * a long-running host does not grow with every migration. Their records stay in the sealed state.
     */
    static final int KEEP_FINISHED_SESSIONS = 32;

    private void retireFinishedRuns() {
        for (long h : toRetire(runs, Migrations::finished, KEEP_FINISHED_SESSIONS)) {
            Object o = runs.remove(h);
            MigrationRecord r = o instanceof SourceRun s ? s.rec : o instanceof DestinationRun d ? d.rec : null;
            if (r != null) {
                handles.remove(r.id, h);
            }
        }
    }

    /** A session nothing more can happen in: a final outcome (and a source's slots closed), or a dead empty domain. */
    private static boolean finished(Object run) {
        if (run instanceof SourceRun s) {
            return s.rec.state.isFinal() && (s.sealing == null || s.sealing.closed());
        }
        if (run instanceof DestinationRun d) {
            MigrationRecord r = d.rec;
            return r == null ? d.domain.destroyed() : r.state.isFinal();
        }
        return false;
    }

    /** The handles of all but the newest {@code keep} finished sessions (handles grow with age). */
    static List<Long> toRetire(Map<Long, ?> sessions, java.util.function.Predicate<Object> finished, int keep) {
        List<Long> done = new ArrayList<>();
        for (Map.Entry<Long, ?> e : sessions.entrySet()) {
            if (finished.test(e.getValue())) {
                done.add(e.getKey());
            }
        }
        if (done.size() <= keep) {
            return List.of();
        }
        java.util.Collections.sort(done);
        return done.subList(0, done.size() - keep);
    }

    SourceRun source(long handle) throws HypervisorException {
        if (runs.get(handle) instanceof SourceRun s) {
            return s;
        }
        throw SimHypervisor.err(Reason.NOT_FOUND, "host " + hv.hostId + " has no source session " + handle);
    }

    DestinationRun destination(long handle) throws HypervisorException {
        if (runs.get(handle) instanceof DestinationRun d) {
            return d;
        }
        throw SimHypervisor.err(Reason.NOT_FOUND, "host " + hv.hostId + " has no destination session " + handle);
    }

    /** The session handle of a migration (after an agent restart); NOT_FOUND after a hypervisor restart. */
    long lookup(MigrationId id, MigrationRole role) throws HypervisorException {
        MigrationRecord r = hv.record(id);
        Long h = handles.get(id);
        if (h == null || r.role != role) {
            throw SimHypervisor.err(Reason.NOT_FOUND, "host " + hv.hostId + " has no live " + role.name().toLowerCase()
                    + " session of migration " + id + " (" + r.state + "); the session keys died with the previous "
                    + "hypervisor run: recover with tokens (" + r.toDecision().detail() + ")");
        }
        return h;
    }

    MigrationId id(long handle) throws HypervisorException {
        Object o = runs.get(handle);
        MigrationRecord r = o instanceof SourceRun s ? s.rec : o instanceof DestinationRun d ? d.rec : null;
        if (r == null) {
            throw SimHypervisor.err(Reason.NOT_FOUND, "session " + handle + " has no migration id yet: it is known "
                    + "once HELLO was accepted");
        }
        return r.id;
    }

    MigrationDecision decision(long handle) throws HypervisorException {
        Object o = runs.get(handle);
        MigrationRecord r = o instanceof SourceRun s ? s.rec : o instanceof DestinationRun d ? d.rec : null;
        if (r == null) {
            throw SimHypervisor.err(Reason.NOT_FOUND, "session " + handle + " has no migration yet (no HELLO)");
        }
        synchronized (hv) {
            return r.toDecision();
        }
    }

    int domId(long handle) throws HypervisorException {
        Object o = runs.get(handle);
        if (o instanceof SourceRun s) {
            return s.domain.domId;
        }
        if (o instanceof DestinationRun d) {
            return d.domain.domId;
        }
        throw SimHypervisor.err(Reason.NOT_FOUND, "host " + hv.hostId + " has no session " + handle);
    }

    // ---- plain mode ------------------------------------------------------------------------------------------

    MigrationId beginPlain(int domId) throws HypervisorException {
        synchronized (hv) {
            Domain d = hv.domain(domId);
            if (d.config.hasProtectedProcesses()) {
                throw SimHypervisor.plainRefused(d);
            }
            checkMovable(d);
            byte[] id = new byte[MigrationId.LENGTH];
            hv.random.nextBytes(id);
            MigrationRecord r = hv.lock(d, MigrationId.of(id), MigrationRole.SOURCE, MigrationState.PLAIN);
            r.plain = true;
            persistOrUndo(r, () -> {
                d.migration = null;
                hv.state.migrations.remove(r.id);
            });
            return r.id;
        }
    }

    void finishPlain(MigrationId id, boolean committed) throws HypervisorException {
        synchronized (hv) {
            MigrationRecord r = hv.record(id);
            if (!r.plain || r.state != MigrationState.PLAIN) {
                throw SimHypervisor.err(Reason.REFUSED, "migration " + id + " is not a plain migration in progress ("
                        + r.state + ")");
            }
            Domain d = hv.domainOf(r);
            r.state = committed ? MigrationState.COMMITTED : MigrationState.ABORTED_BY_SOURCE;
            r.endMillis = System.currentTimeMillis();
            if (committed && d != null) {
                d.state = DomainState.MIGRATED_AWAY;
            }
            hv.persist();
        }
    }

    private void checkMovable(Domain d) throws HypervisorException {
        if (d.state != DomainState.RUNNING && d.state != DomainState.PAUSED) {
            throw SimHypervisor.err(Reason.REFUSED, "VM " + d.config.name() + " is " + d.state
                    + " on host " + hv.hostId + ": only a running or paused VM can be migrated from here");
        }
    }

    private void persistOrUndo(MigrationRecord r, Runnable undo) throws HypervisorException {
        try {
            hv.state.persist();
        } catch (java.io.IOException e) {
            undo.run();
            throw SimHypervisor.internal("cannot seal the decision state of host " + hv.hostId
                    + " (migration " + r.id + " was not started)", e);
        }
    }

    // ---- source ----------------------------------------------------------------------------------------------

    long beginSource(int domId, Optional<String> destinationHostId) throws HypervisorException {
        var creds = hv.credentials();
        var config = hv.handshakeConfig();
        synchronized (hv) {
            Domain d = hv.domain(domId);
            checkMovable(d);
            Initiator ini = new Initiator(creds, config, StreamHeader.secureV1(), d.config.vmId(),
                    destinationHostId.orElse(null));
            byte[] hello;
            try {
                hello = ini.hello();
            } catch (ProtocolException e) {
                throw HypervisorException.protocol(e);
            }
            MigrationRecord r = hv.lock(d, MigrationId.of(ini.migrationId().bytes()), MigrationRole.SOURCE,
                    MigrationState.HANDSHAKE);
            r.requestedPeer = destinationHostId.orElse(null);
            persistOrUndo(r, () -> {
                d.migration = null;
                hv.state.migrations.remove(r.id);
            });
            long h = nextHandle.getAndIncrement();
            runs.put(h, new SourceRun(h, d, r, ini, Records.encode(RecordType.HELLO, hello)));
            handles.put(r.id, h);
            retireFinishedRuns();
            LOG.info("host {}: migration {} of {} begins (source, secure)", hv.hostId, r.id, d.config.name());
            return h;
        }
    }

    ProtocolMessage hello(long handle) throws HypervisorException {
        return new ProtocolMessage(ProtocolMessage.Kind.HELLO, source(handle).helloRecord);
    }

    ProtocolMessage onHelloReply(long handle, byte[] destinationHeader, byte[] replyRecord)
            throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            requireState(run.rec, MigrationState.HANDSHAKE, "HELLO_REPLY");
            byte[] finish;
            HandshakeResult res;
            try {
                WireRecord rec = Records.decodeOne(replyRecord, RecordType.HELLO_REPLY);
                finish = run.initiator.onHelloReply(StreamHeader.decode(destinationHeader), rec.body());
                res = run.initiator.result();
            } catch (ProtocolException e) {
                run.initiator.abort();
                failSource(run, e);
                throw HypervisorException.protocol(e);
            }
            run.session = res;
            SecretKey sealing = res.keys().sealingKey();
            try {
                run.sealing = new SourceSealing(sealing, res.migrationId(), res.vmId(), run.domain.processes,
                        run.domain.memoryFile.resolveSibling("dom" + run.domain.domId + "-migration" + handle
                                + ".sealed"));
            } catch (java.io.IOException e) {
                throw SimHypervisor.internal("cannot create the sealed-page slots of migration " + run.rec.id
                        + " on host " + hv.hostId, e);
            }
            run.sender = new ControlSender(res.keys().controlKey(Role.SOURCE), Role.SOURCE, res.migrationId());
            run.receiver = new ControlReceiver(res.keys().controlKey(Role.DESTINATION), Role.DESTINATION,
                    res.migrationId());
            synchronized (hv) {
                adoptPeer(run.rec, res);
                run.rec.state = MigrationState.PRECOPY;
                hv.persist();
            }
            return new ProtocolMessage(ProtocolMessage.Kind.FINISH, Records.encode(RecordType.FINISH, finish));
        }
    }

    private static void adoptPeer(MigrationRecord r, HandshakeResult res) {
        r.peerHostId = res.peer().hostId();
        r.peerAkCertificate = Certificates.encode(res.peer().certificate());
        r.transcriptHash = res.transcriptHash();
        r.policySerial = res.policySerial();
        r.suite = res.suite().name();
    }

    /** A failed handshake ends the migration (a retry is a new one) and releases the lock. */
    private void failSource(SourceRun run, ProtocolException e) throws HypervisorException {
        synchronized (hv) {
            MigrationRecord r = run.rec;
            r.anomaly(e.reason().name(), e.getMessage());
            if (!r.state.isFinal() && r.state != MigrationState.RELEASED) {
                r.state = MigrationState.ABORTED_BY_SOURCE;
                r.outcomeReason = e.reason().name() + ": " + e.getMessage();
                r.endMillis = System.currentTimeMillis();
                hv.persist();
                endSealing(r);
            }
        }
    }

    private static void requireState(MigrationRecord r, MigrationState expected, String what)
            throws HypervisorException {
        if (r.state != expected) {
            // an ended migration says why it ended (e.g. the VM resumed at the source after its MANIFEST)
            throw SimHypervisor.err(Reason.REFUSED, what + " is not expected now: migration " + r.id + " is "
                    + r.state + whyEnded(r) + ", not " + expected);
        }
    }

    /** " (why it ended)" for an ended migration that recorded a reason (e.g. the VM resumed after its MANIFEST). */
    private static String whyEnded(MigrationRecord r) {
        return r.state.isFinal() && r.outcomeReason != null && !r.outcomeReason.isEmpty()
                ? " (" + r.outcomeReason + ")" : "";
    }

    SealedSlots sealPages(long handle, long[] pfns, int offset, int count) throws HypervisorException {
        SourceRun run = source(handle);
        if (offset < 0 || count < 0 || offset + count > pfns.length) {
            throw SimHypervisor.err(Reason.INVALID_ARGUMENT, "pfn range " + offset + "+" + count + " lies outside "
                    + "the " + pfns.length + " pfns given");
        }
        Domain d = run.domain;
        long[] ids = new long[count];
        long[] versions = new long[count];
        long[] positions = new long[count];
        run.sealLock.readLock().lock();
        try {
            // after the MANIFEST (frozen) dom0 may still fetch the sealings it names: re-sends, nothing new is sealed
            boolean frozen = run.frozen;
            MigrationState state = run.rec.state;
            if (!(state == MigrationState.PRECOPY || frozen && state == MigrationState.FROZEN) || run.sealing == null
                    || run.sealing.closed()) {
                throw SimHypervisor.err(Reason.REFUSED, "migration " + run.rec.id + " is " + state + whyEnded(run.rec)
                        + ": pages are sealed only after the handshake and before the MANIFEST (and re-sent until"
                        + " RELEASE)");
            }
            d.life.readLock().lock();
            try {
                if (d.destroyed()) {
                    throw SimHypervisor.err(Reason.NOT_FOUND, "VM " + d.config.name() + " was destroyed");
                }
                for (int i = 0; i < count; i++) {
                    long pfn = pfns[offset + i];
                    if (pfn < 0 || pfn >= d.pageCount() || !d.isProtected(pfn)) {
                        throw SimHypervisor.err(Reason.INVALID_ARGUMENT, "pfn " + pfn + " of VM " + d.config.name()
                                + " is not a protected page: read it through the normal map");
                    }
                    ProtectedProcess p = d.ownerOf(pfn);
                    int idx = d.indexInOwner(pfn);
                    int pi = d.processes.indexOf(p);
                    // under the page's lock: the version sealed is the version of exactly these contents; an
                    // unchanged page keeps its sealing (no plaintext is touched)
                    synchronized (p.lockFor(idx)) {
                        if (frozen && !run.sealing.sealedAtCurrentVersion(pi, p, idx)) {
                            throw SimHypervisor.err(Reason.REFUSED, "pfn " + pfn + " of VM " + d.config.name()
                                    + " changed after the MANIFEST of migration " + run.rec.id + " was sealed");
                        }
                        versions[i] = run.sealing.sealPage(pi, p, idx);
                    }
                    ids[i] = pfn;
                    positions[i] = run.sealing.position(pi, idx);
                }
            } finally {
                d.life.readLock().unlock();
            }
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } finally {
            run.sealLock.readLock().unlock();
        }
        return new SealedSlots(run.sealing.file.toAbsolutePath().toString(), ids, versions, positions);
    }

    SealedBatch sealVcpus(long handle) throws HypervisorException {
        SourceRun run = source(handle);
        Domain d = run.domain;
        synchronized (hv) {
            if (!(run.frozen && run.rec.state == MigrationState.FROZEN)) {
                requireState(run.rec, MigrationState.PRECOPY, "sealing vCPU contexts");
            }
            if (d.state != DomainState.PAUSED) {
                throw SimHypervisor.err(Reason.REFUSED, "VM " + d.config.name() + " is " + d.state
                        + ": pause it before sealing its vCPU contexts (they change while it runs)");
            }
        }
        List<byte[]> records = new ArrayList<>();
        List<long[]> idsAndVersions = new ArrayList<>();
        run.sealLock.readLock().lock();
        try {
            if (run.sealing == null || run.sealing.closed()) {
                throw SimHypervisor.err(Reason.REFUSED, "migration " + run.rec.id + ": contexts are sealed only "
                        + "before the MANIFEST (and re-sent until RELEASE)");
            }
            for (int pi = 0; pi < d.processes.size(); pi++) {
                ProtectedProcess p = d.processes.get(pi);
                for (int v = 0; v < p.vcpus(); v++) {
                    if (run.frozen && !run.sealing.contextSealedAtCurrentVersion(p, v)) {
                        throw SimHypervisor.err(Reason.REFUSED, "the vCPU " + v + " context of process "
                                + p.processId + " changed after the MANIFEST of migration " + run.rec.id
                                + " was sealed");
                    }
                    records.add(run.sealing.sealContext(pi, p, v));
                    idsAndVersions.add(new long[] {v, p.contextVersion(v)});
                }
            }
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } finally {
            run.sealLock.readLock().unlock();
        }
        int n = records.size();
        int total = 0;
        for (byte[] r : records) {
            total += r.length;
        }
        ByteBuffer out = ByteBuffer.allocate(total);
        long[] ids = new long[n];
        long[] versions = new long[n];
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) {
            // the version as sealed: read from the record itself (header 16 + body offset 24)
            ByteBuffer rec = ByteBuffer.wrap(records.get(i));
            ids[i] = idsAndVersions.get(i)[0];
            versions[i] = rec.getLong(16 + 24);
            offsets[i] = out.position();
            lengths[i] = rec.remaining();
            out.put(rec);
        }
        out.flip();
        return new SealedBatch(SealedBatch.Kind.VCPU, ids, versions, offsets, lengths, out);
    }

    /** Seals the MANIFEST of the paused VM and freezes its protected processes (recorded before it is returned). */
    ProtocolMessage manifest(long handle) throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            // under the hypervisor's lock for the whole step: no resume can slip between the check and the freeze
            synchronized (hv) {
                MigrationRecord r = run.rec;
                Domain d = run.domain;
                requireState(r, MigrationState.PRECOPY, "MANIFEST");
                hv.checkStateFile();
                if (d.state != DomainState.PAUSED) {
                    throw SimHypervisor.err(Reason.REFUSED, "VM " + d.config.name() + " is " + d.state
                            + ": pause it and send the last dirty pages before sealing the MANIFEST");
                }
                Map<Integer, byte[]> keys = new HashMap<>();
                byte[] encoded = null;
                byte[] digest;
                WireRecord rec;
                // alone on the sealing: no request seals anything after the table is read
                run.sealLock.writeLock().lock();
                try {
                    SourceSealing s = run.sealing;
                    if (s == null || s.closed()) {
                        throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " has no sealing session");
                    }
                    // the MANIFEST names the final version of every protected page and context: anything changed
                    // since it was last sealed is sealed now (if dom0 did not send it, the destination finds it
                    // missing or stale). Unchanged pages cost a version comparison.
                    for (int pi = 0; pi < d.processes.size(); pi++) {
                        ProtectedProcess p = d.processes.get(pi);
                        keys.put(p.processId, p.key());
                        for (int i = 0; i < p.pageCount(); i++) {
                            synchronized (p.lockFor(i)) {
                                s.sealPage(pi, p, i);
                            }
                        }
                        for (int v = 0; v < p.vcpus(); v++) {
                            s.sealContext(pi, p, v);
                        }
                    }
                    String unsealed = s.table.firstUnsealed();
                    if (unsealed != null) {
                        throw SimHypervisor.err(Reason.INTERNAL, "the MANIFEST of migration " + r.id + " would list "
                                + unsealed + " without a sealing");
                    }
                    digest = s.table.digest();
                    encoded = s.table.encode(keys, digest);
                    rec = run.sender.seal(RecordType.MANIFEST, encoded);
                    run.frozen = true;
                } catch (ProtocolException e) {
                    throw HypervisorException.protocol(e);
                } finally {
                    run.sealLock.writeLock().unlock();
                    if (encoded != null) {
                        Arrays.fill(encoded, (byte) 0);
                    }
                    for (byte[] k : keys.values()) {
                        Arrays.fill(k, (byte) 0);
                    }
                }
                r.manifestDigest = digest;
                r.state = MigrationState.FROZEN;
                if (r.pauseMillis == 0) {
                    r.pauseMillis = System.currentTimeMillis();
                }
                hv.persist();
                return new ProtocolMessage(ProtocolMessage.Kind.MANIFEST, Records.encode(rec));
            }
        }
    }

    /**
     * The source's run ended (committed, aborted, fenced): its sealed-page slots are unmapped and deleted. Caller
     * holds the hypervisor lock; sealing requests never wait for it while holding the sealing lock.
     */
    private void endSealing(MigrationRecord r) {
        Long h = handles.get(r.id);
        if (h != null && runs.get(h) instanceof SourceRun run && run.sealing != null) {
            run.sealLock.writeLock().lock();
            try {
                run.frozen = true;
                run.sealing.close();
            } finally {
                run.sealLock.writeLock().unlock();
            }
        }
    }

    ProtocolMessage release(long handle, byte[] readyRecord) throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            synchronized (hv) {
                MigrationRecord r = run.rec;
                Domain d = run.domain;
                hv.checkStateFile();
                if (r.inDoubt) {
                    throw doubt(r);
                }
                if (r.state != MigrationState.FROZEN) {
                    throw SimHypervisor.err(Reason.REFUSED, "RELEASE of migration " + r.id + " is refused: it is "
                            + r.state + "; RELEASE is allowed only from the manifest-sealed state with no resume "
                            + "since the MANIFEST");
                }
                if (d.migration != r || d.state != DomainState.PAUSED) {
                    throw SimHypervisor.err(Reason.REFUSED, "RELEASE of migration " + r.id + " is refused: VM "
                            + d.config.name() + " is " + d.state + " and its lock holder is "
                            + SimHypervisor.describe(d.migration));
                }
                Token ready;
                try {
                    byte[] plain = run.receiver.open(Records.decodeOne(readyRecord, RecordType.READY));
                    ready = Token.decode(plain);
                    verifyToken(ready, TokenKind.READY, r, true);
                } catch (ProtocolException e) {
                    r.anomaly(e.reason().name(), "READY: " + e.getMessage());
                    throw HypervisorException.protocol(e);
                }
                Token release = issue(TokenKind.RELEASE, r, r.manifestDigest);
                r.tokens.put(TokenKind.READY, ready.encode());
                r.tokens.put(TokenKind.RELEASE, release.encode());
                r.state = MigrationState.RELEASED;
                d.state = DomainState.RELEASED;
                try {
                    hv.state.persist();
                } catch (java.io.IOException e) {
                    r.tokens.remove(TokenKind.RELEASE);
                    r.state = MigrationState.FROZEN;
                    d.state = DomainState.PAUSED;
                    throw SimHypervisor.internal("cannot seal RELEASE of migration " + r.id + " (not released)", e);
                }
                LOG.info("host {}: migration {} RELEASED to {}", hv.hostId, r.id, r.peerHostId);
                try {
                    return new ProtocolMessage(ProtocolMessage.Kind.RELEASE,
                            Records.encode(run.sender.seal(RecordType.RELEASE, release.encode())));
                } catch (ProtocolException e) {
                    throw HypervisorException.protocol(e);
                }
            }
        }
    }

    void onDone(long handle, byte[] doneRecord) throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            synchronized (hv) {
                MigrationRecord r = run.rec;
                Token done;
                try {
                    byte[] plain = run.receiver.open(Records.decodeOne(doneRecord, RecordType.DONE));
                    done = Token.decode(plain);
                    verifyToken(done, TokenKind.DONE, r, true);
                } catch (ProtocolException e) {
                    r.anomaly(e.reason().name(), "DONE: " + e.getMessage());
                    throw HypervisorException.protocol(e);
                }
                applyDone(r, done);
            }
        }
    }

    /** DONE verified: the VM runs at the destination; this copy is discarded. Caller holds the hypervisor lock. */
    private void applyDone(MigrationRecord r, Token done) throws HypervisorException {
        if (r.state == MigrationState.COMMITTED) {
            return;
        }
        if (r.state != MigrationState.RELEASED) {
            throw SimHypervisor.err(Reason.REFUSED, "DONE for migration " + r.id + " arrives in state " + r.state
                    + ": this host never released it");
        }
        r.tokens.put(TokenKind.DONE, done.encode());
        r.state = MigrationState.COMMITTED;
        r.endMillis = System.currentTimeMillis();
        endSealing(r);
        Domain d = hv.domainOf(r);
        if (d != null) {
            d.state = DomainState.MIGRATED_AWAY;
            for (ProtectedProcess p : d.processes) {
                p.zeroize();
            }
        }
        hv.persistLater();
        LOG.info("host {}: migration {} COMMITTED", hv.hostId, r.id);
    }

    ProtocolMessage abortSource(long handle, ProtocolException.Reason reason, String detail)
            throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            synchronized (hv) {
                MigrationRecord r = run.rec;
                if (r.state == MigrationState.RELEASED) {
                    throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " of VM " + r.vmName
                            + " was released to " + SimHypervisor.peer(r) + ": a cancel after RELEASE is refused; the "
                            + "VM runs there once it verifies RELEASE (if that host is lost, import its ABORT token or "
                            + "a fence here)");
                }
                if (r.state != MigrationState.ABORTED_BY_SOURCE) {
                    if (r.state.isFinal()) {
                        throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " is already " + r.state);
                    }
                    if (r.inDoubt) {
                        throw doubt(r);
                    }
                    abortSourceLocally(r, reason, detail);
                }
                if (run.abortRecord == null) {
                    byte[] token = r.tokens.get(TokenKind.ABORT_BY_SOURCE);
                    if (run.sender == null || token == null) {
                        // before the handshake completed there is no key to carry ABORT: the agent closes the stream
                        return new ProtocolMessage(ProtocolMessage.Kind.ABORT_BY_SOURCE, new byte[0]);
                    }
                    try {
                        run.abortRecord = Records.encode(run.sender.seal(RecordType.ABORT, token));
                    } catch (ProtocolException e) {
                        throw HypervisorException.protocol(e);
                    }
                }
                return new ProtocolMessage(ProtocolMessage.Kind.ABORT_BY_SOURCE, run.abortRecord);
            }
        }
    }

    /** Records ABORT_BY_SOURCE (before RELEASE) and frees the lock; the caller holds the hypervisor lock. */
    void abortSourceLocally(MigrationRecord r, ProtocolException.Reason reason, String detail)
            throws HypervisorException {
        if (r.transcriptHash != null) {
            r.tokens.put(TokenKind.ABORT_BY_SOURCE, issue(TokenKind.ABORT_BY_SOURCE, r, r.manifestDigest).encode());
        }
        r.state = MigrationState.ABORTED_BY_SOURCE;
        r.outcomeReason = reason.name() + (detail == null || detail.isEmpty() ? "" : ": " + detail);
        r.endMillis = System.currentTimeMillis();
        hv.persist();
        endSealing(r);
        LOG.info("host {}: migration {} ABORTED by the source: {}", hv.hostId, r.id, r.outcomeReason);
    }

    /**
     * At boot: ends the migrations whose handshake never completed here. Their session died with the host before this
     * side sealed PRECOPY (the source seals it before FINISH is returned, the destination before it takes a page), so
     * no key, page or MANIFEST of them left the source and the destination verified nothing: nothing can ever RELEASE
     * or resume them. Left open they would hold the VM's lock for good and no hypervisor would sign their record. At
     * the source this is its abort before RELEASE (docs/commit-model.pml: src_abort from S_LOCKED); at the destination
     * an abort before READY (the model has no destination state before READY). The stream was lost with the host,
     * hence TRUNCATED. Decisions in doubt are left alone, as everywhere.
     */
    void endLostHandshakes() throws HypervisorException {
        synchronized (hv) {
            String why = "host " + hv.hostId + " restarted before the handshake completed here";
            for (MigrationRecord r : hv.state.migrations.values()) {
                if (r.state != MigrationState.HANDSHAKE || r.inDoubt || r.transcriptHash != null
                        || r.manifestDigest != null) {
                    continue;
                }
                if (r.role == MigrationRole.SOURCE) {
                    abortSourceLocally(r, ProtocolException.Reason.TRUNCATED, why + "; nothing had left it");
                } else {
                    abortDestinationRecord(r, ProtocolException.Reason.TRUNCATED, why + "; nothing was verified");
                }
            }
        }
    }

    void acceptAbortAtSource(long handle, byte[] bytes) throws HypervisorException {
        SourceRun run = source(handle);
        synchronized (run) {
            synchronized (hv) {
                applyPeerAbort(run.rec, openAbort(bytes, run.receiver, run.rec), TokenKind.ABORT_BY_DESTINATION);
            }
        }
    }

    // ---- destination -----------------------------------------------------------------------------------------

    long openDestination(DestinationRequest request) throws HypervisorException {
        var creds = hv.credentials();
        var config = hv.handshakeConfig();
        Domain d = hv.newDomain(request.config(), false, DomainState.INCOMING);
        long h = nextHandle.getAndIncrement();
        runs.put(h, new DestinationRun(h, d, request, new Responder(creds, config, StreamHeader.secureV1())));
        retireFinishedRuns();
        return h;
    }

    ProtocolMessage onHello(long handle, byte[] sourceHeader, byte[] helloRecord) throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            if (run.rec != null) {
                throw SimHypervisor.err(Reason.REFUSED, "destination session " + handle + " already took the HELLO "
                        + "of migration " + run.rec.id + " (" + run.rec.state + "): a retry is a new session");
            }
            Domain d = run.domain;
            byte[] reply;
            byte[] body = null;
            try {
                body = Records.decodeOne(helloRecord, RecordType.HELLO).body();
                // HELLO: version u32, suite u32, policy serial u64, migration id [16], VM id [16] (protocol-handshake)
                if (body.length < 48) {
                    throw new ProtocolException(ProtocolException.Reason.MALFORMED, "HELLO of " + body.length
                            + " bytes is too short");
                }
                ByteBuffer b = ByteBuffer.wrap(body, 32, 16);
                UUID vm = new UUID(b.getLong(), b.getLong());
                if (!vm.equals(d.config.vmId())) {
                    throw new ProtocolException(ProtocolException.Reason.POLICY, "HELLO is for VM " + vm
                            + ", but this destination was prepared for VM " + d.config.name() + " ("
                            + d.config.vmId() + ")");
                }
                reply = run.responder.onHello(StreamHeader.decode(sourceHeader), body);
            } catch (ProtocolException e) {
                recordRefusal(run, body, e);
                throw HypervisorException.protocol(e);
            }
            MigrationId id = MigrationId.of(Arrays.copyOfRange(body, 16, 32));
            synchronized (hv) {
                if (hv.state.migrations.containsKey(id)) {
                    throw SimHypervisor.err(Reason.PROTOCOL, "migration id " + id + " was already seen on host "
                            + hv.hostId + ": a replayed HELLO");
                }
                MigrationRecord r = hv.lock(d, id, MigrationRole.DESTINATION, MigrationState.HANDSHAKE);
                r.requestedPeer = run.request.sourceHostId().orElse(null); // named if the handshake fails later
                persistOrUndo(r, () -> {
                    d.migration = null;
                    hv.state.migrations.remove(id);
                });
                run.rec = r;
                handles.put(id, handle);
            }
            return new ProtocolMessage(ProtocolMessage.Kind.HELLO_REPLY,
                    Records.encode(RecordType.HELLO_REPLY, reply));
        }
    }

    /** Most refused HELLOs from one claimed source that get a record of their own at once (G6 flood limit). */
    static final int REFUSAL_BURST = 16;
    /** After the burst, one more record per this many milliseconds and source. */
    static final long REFUSAL_REFILL_MS = 5 * 60_000;
    /** Sources with a budget of their own; HELLOs claiming further ones share one budget. */
    private static final int REFUSAL_SOURCES = 64;
    private final Map<String, RefusalBudget> refusalBudgets = new HashMap<>();

    /** A token bucket per claimed source (in memory: a restart refills it, which a flood cannot cause). */
    private static final class RefusalBudget {
        double tokens = REFUSAL_BURST;
        long refilledAt;
        long unrecorded;

        RefusalBudget(long now) {
            refilledAt = now;
        }

        boolean take(long now) {
            tokens = Math.min(REFUSAL_BURST, tokens + (double) (now - refilledAt) / REFUSAL_REFILL_MS);
            refilledAt = now;
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            unrecorded++;
            return false;
        }
    }

    /**
     * G6: the destination that refuses HELLO keeps its own signed record of the refusal, REJECTED with its own
     * reason (the source's record only has the source's view). It is final from the start: nothing was accepted, no
     * lock taken, nothing can resume, so the commit rules (docs/commit-model.pml) are untouched. A HELLO is cheap to
     * send, so the records are limited: one per migration id (a HELLO naming an id this host already recorded adds
     * nothing), none for a HELLO too short to name a migration, and per claimed source host {@link #REFUSAL_BURST}
     * at once, then one per {@link #REFUSAL_REFILL_MS}; refusals beyond that are counted, and the next record of
     * that source names how many went unrecorded. The incoming domain is zeroized: it never held anything.
     */
    private void recordRefusal(DestinationRun run, byte[] body, ProtocolException e) {
        if (body == null || body.length < 48) {
            return; // nothing names the migration; the abort that follows zeroizes the domain
        }
        MigrationId id = MigrationId.of(Arrays.copyOfRange(body, 16, 32));
        String source = run.request.sourceHostId().filter(Certificates::isValidHostId).orElse(null);
        synchronized (hv) {
            if (hv.state.migrations.containsKey(id)) {
                return;
            }
            long now = System.currentTimeMillis();
            String key = source == null ? "" : source;
            if (!refusalBudgets.containsKey(key) && refusalBudgets.size() >= REFUSAL_SOURCES) {
                key = "*";
            }
            RefusalBudget budget = refusalBudgets.computeIfAbsent(key, k -> new RefusalBudget(now));
            if (!budget.take(now)) {
                LOG.warn("host {}: HELLO of migration {} from {} refused ({}) without a record: the flood limit of"
                        + " that source ({} at once, then one per {} s) is spent", hv.hostId, id, key, e.reason(),
                        REFUSAL_BURST, REFUSAL_REFILL_MS / 1000);
                return;
            }
            Domain d = run.domain;
            MigrationRecord r = new MigrationRecord(id, MigrationRole.DESTINATION, d.config.name(), d.domId,
                    MigrationState.ABORTED_BY_DESTINATION);
            r.startMillis = now;
            r.endMillis = now;
            r.peerHostId = source; // as dom0 claimed it: the record names it as unidentified
            try {
                r.policySerial = hv.hardware.policySerial();
            } catch (java.io.IOException ignored) {
                // the record then names serial 0: no policy was in force to judge by
            }
            String message = e.getMessage().startsWith(e.reason() + ": ")
                    ? e.getMessage().substring(e.reason().name().length() + 2) : e.getMessage();
            r.outcomeReason = e.reason().name() + ": HELLO refused by host " + hv.hostId + ": " + message;
            r.anomaly(e.reason().name(), "HELLO: " + message);
            if (budget.unrecorded > 0) {
                String lost = budget.unrecorded + " earlier refused HELLOs from "
                        + (key.equals("*") ? "further sources" : source == null ? "unnamed sources" : source)
                        + " were not recorded (flood limit: " + REFUSAL_BURST + ", then one per "
                        + REFUSAL_REFILL_MS / 1000 + " s)";
                r.anomalies.put("UNRECORDED_REFUSALS", budget.unrecorded);
                r.anomalyExamples.put("UNRECORDED_REFUSALS", lost);
                r.outcomeReason = r.outcomeReason + "; " + lost;
                budget.unrecorded = 0;
            }
            hv.state.migrations.put(id, r);
            try {
                hv.state.persist();
            } catch (java.io.IOException io) {
                hv.state.migrations.remove(id);
                LOG.error("host {}: cannot seal the refusal of migration {}: {}", hv.hostId, id, io.getMessage());
                return;
            }
            run.rec = r;
            handles.put(id, run.handle);
            zeroize(d);
            LOG.info("host {}: migration {} REJECTED here: {}", hv.hostId, id, r.outcomeReason);
        }
    }

    void onFinish(long handle, byte[] finishRecord) throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            if (run.rec == null) {
                throw SimHypervisor.err(Reason.REFUSED, "FINISH before HELLO in destination session " + handle);
            }
            requireState(run.rec, MigrationState.HANDSHAKE, "FINISH");
            HandshakeResult res;
            try {
                res = run.responder.onFinish(Records.decodeOne(finishRecord, RecordType.FINISH).body());
            } catch (ProtocolException e) {
                run.responder.abort();
                synchronized (hv) {
                    run.rec.anomaly(e.reason().name(), e.getMessage());
                    abortDestinationLocally(run, e.reason(), e.getMessage());
                }
                throw HypervisorException.protocol(e);
            }
            run.session = res;
            run.received = new ReceivedState(run.domain, new Opener(res.keys().sealingKey(), res.migrationId(),
                    res.vmId()));
            run.sender = new ControlSender(res.keys().controlKey(Role.DESTINATION), Role.DESTINATION,
                    res.migrationId());
            run.receiver = new ControlReceiver(res.keys().controlKey(Role.SOURCE), Role.SOURCE, res.migrationId());
            synchronized (hv) {
                adoptPeer(run.rec, res);
                run.rec.state = MigrationState.PRECOPY;
                hv.persist();
            }
        }
    }

    SealedAcceptance acceptSealed(long handle, ByteBuffer records) throws HypervisorException {
        DestinationRun run = destination(handle);
        MigrationRecord r = run.rec;
        if (r == null || r.state != MigrationState.PRECOPY || run.received == null || run.verificationFailed) {
            throw new HypervisorException(Reason.PROTOCOL, ProtocolException.Reason.UNEXPECTED_RECORD,
                    "sealed records are accepted only between FINISH and the MANIFEST (migration "
                            + (r == null ? "none yet" : r.id + " is " + r.state) + ")", null);
        }
        int[] counts = new int[2]; // accepted, stale
        try {
            SealedRecords.forEach(records, blob -> {
                if (blob.kind() == org.sealift.protocol.seal.SealKind.PAGE
                        && (blob.target() >= run.domain.pageCount() || !run.domain.isProtected(blob.target()))) {
                    throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, "sealed page for pfn "
                            + blob.target() + ", which is not a protected page of VM " + run.domain.config.name());
                }
                switch (run.received.accept(blob)) {
                    case STORED -> counts[0]++;
                    case DUPLICATE -> { }
                    case STALE_DROPPED -> counts[1]++;
                }
            });
        } catch (ProtocolException e) {
            synchronized (hv) {
                r.anomaly(e.reason().name(), e.getMessage());
            }
            throw HypervisorException.protocol(e);
        }
        int stale = counts[1];
        if (stale > 0) {
            synchronized (hv) {
                r.anomalies.merge("REPLAY", (long) stale, Long::sum);
                r.anomalyExamples.putIfAbsent("REPLAY", String.valueOf(run.received.firstReplay()));
            }
        }
        return new SealedAcceptance(counts[0], stale);
    }

    ProtocolMessage onManifest(long handle, byte[] manifestRecord) throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            MigrationRecord r = run.rec;
            Domain d = run.domain;
            synchronized (hv) {
                if (r == null) {
                    throw SimHypervisor.err(Reason.REFUSED, "MANIFEST before HELLO in destination session " + handle);
                }
                requireState(r, MigrationState.PRECOPY, "MANIFEST");
                if (run.verificationFailed) {
                    throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " already failed verification: "
                            + "abort it");
                }
                hv.checkStateFile();
            }
            byte[] plain = null;
            byte[] digest;
            try {
                plain = run.receiver.open(Records.decodeOne(manifestRecord, RecordType.MANIFEST));
                // the usual case is one comparison with what was accepted; anything else is decoded and checked
                // entry by entry, which names what differs
                digest = run.received.verifyExact(plain);
                if (digest != null) {
                    byte[] exact = plain;
                    install(run, pi -> run.received.key(exact, pi));
                } else {
                    digest = verifyAndInstall(run, plain);
                }
            } catch (ProtocolException e) {
                run.verificationFailed = true;
                synchronized (hv) {
                    r.anomaly(e.reason().name(), "MANIFEST: " + e.getMessage());
                }
                throw HypervisorException.protocol(e);
            } finally {
                if (plain != null) {
                    Arrays.fill(plain, (byte) 0); // it holds the process keys
                }
            }
            synchronized (hv) {
                Token ready = issue(TokenKind.READY, r, digest);
                r.manifestDigest = digest;
                r.tokens.put(TokenKind.READY, ready.encode());
                r.state = MigrationState.READY;
                run.readyDeadline = System.currentTimeMillis() + run.request.readyDeadlineMs();
                // READY need not be durable: after a crash the copy is gone and PRECOPY allows the same ABORT
                hv.persistLater();
                LOG.info("host {}: migration {} verified, READY", hv.hostId, r.id);
                try {
                    return new ProtocolMessage(ProtocolMessage.Kind.READY,
                            Records.encode(run.sender.seal(RecordType.READY, ready.encode())));
                } catch (ProtocolException e) {
                    throw HypervisorException.protocol(e);
                }
            }
        }
    }

    /** The MANIFEST's processes and pages must be this VM's protected layout exactly (dom0 chose the layout here). */
    private static void checkLayout(Manifest m, Domain d) throws ProtocolException {
        List<Manifest.ProcessEntry> ps = m.processes();
        if (ps.size() != d.processes.size()) {
            throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, "the MANIFEST lists "
                    + ps.size() + " protected processes, VM " + d.config.name() + " was prepared with "
                    + d.processes.size());
        }
        for (Manifest.ProcessEntry e : ps) {
            ProtectedProcess p = d.process(e.processId());
            if (p == null || p.pageCount() != e.pageCount() || e.contextCount() != p.vcpus()) {
                throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, "protected process "
                        + e.processId() + " of the MANIFEST does not match the layout VM " + d.config.name()
                        + " was prepared with");
            }
            for (int c = 0; c < e.contextCount(); c++) {
                if (e.vcpuId(c) != c) {
                    throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, "the MANIFEST lists a"
                            + " context of vCPU " + Integer.toUnsignedString(e.vcpuId(c)) + " for process "
                            + e.processId() + ", where VM " + d.config.name() + " has vCPUs 0.." + (p.vcpus() - 1));
                }
            }
            for (int i = 0; i < e.pageCount(); i++) {
                if (e.pfn(i) != p.pfns[i]) {
                    throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, "the MANIFEST puts pfn "
                            + e.pfn(i) + " in process " + e.processId() + ", where VM " + d.config.name()
                            + " has pfn " + p.pfns[i]);
                }
            }
        }
    }

    /** The slow path of a MANIFEST that is not exactly what was accepted: decoded, checked entry by entry, installed. */
    private static byte[] verifyAndInstall(DestinationRun run, byte[] plain)
            throws ProtocolException {
        Manifest m = Manifest.decode(plain);
        try {
            m.checkSession(run.session.migrationId(), run.domain.config.vmId());
            checkLayout(m, run.domain);
            run.received.verify(m);
            install(run, pi -> m.process(run.domain.processes.get(pi).processId).key());
            return m.digest();
        } finally {
            m.destroyKeys();
        }
    }

    /**
     * Completes the verified copy: its pages are in place already (each verified version was staged as it arrived),
     * so only keys and contexts are installed. The OS view is re-encrypted when the VM resumes ({@link #publishOsView}),
     * not here: on a busy host that work would compete with the commit while the VM is paused at the source.
     */
    private static void install(DestinationRun run, java.util.function.IntFunction<byte[]> keyOfProcess) {
        Domain d = run.domain;
        d.life.readLock().lock();
        try {
            for (int pi = 0; pi < d.processes.size(); pi++) {
                ProtectedProcess p = d.processes.get(pi);
                byte[] key = keyOfProcess.apply(pi);
                p.setKey(key);
                Arrays.fill(key, (byte) 0);
                // verified: every vCPU's context is held at the version the MANIFEST lists
                for (int v = 0; v < p.vcpus(); v++) {
                    byte[] ctx = run.received.context(p.processId, v);
                    p.setContext(v, ctx, run.received.contextVersion(pi, v));
                    Arrays.fill(ctx, (byte) 0);
                }
            }
        } finally {
            d.life.readLock().unlock();
        }
        run.received.destroy();
    }

    /**
     * Re-encrypts the guest-visible view of the protected pages under their (installed) keys, in the background, once
     * the VM runs here; the view never holds plaintext meanwhile.
     */
    private static void publishOsView(Domain d) {
        Thread publish = new Thread(() -> {
            d.life.readLock().lock();
            try {
                if (!d.destroyed()) {
                    for (ProtectedProcess p : d.processes) {
                        if (!p.zeroized()) {
                            p.publishAll(d.ram);
                        }
                    }
                }
            } finally {
                d.life.readLock().unlock();
            }
        }, "dom" + d.domId + "-publish-os-view");
        publish.setDaemon(true);
        publish.start();
    }

    ProtocolMessage onRelease(long handle, byte[] releaseRecord) throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            synchronized (hv) {
                MigrationRecord r = run.rec;
                if (r == null) {
                    throw SimHypervisor.err(Reason.REFUSED, "RELEASE before HELLO in destination session " + handle);
                }
                hv.checkStateFile();
                Token release;
                try {
                    byte[] plain = run.receiver.open(Records.decodeOne(releaseRecord, RecordType.RELEASE));
                    release = Token.decode(plain);
                    verifyToken(release, TokenKind.RELEASE, r, true);
                } catch (ProtocolException e) {
                    r.anomaly(e.reason().name(), "RELEASE: " + e.getMessage());
                    throw HypervisorException.protocol(e);
                }
                Token done = resumeDestination(run, r, release);
                try {
                    return new ProtocolMessage(ProtocolMessage.Kind.DONE,
                            Records.encode(run.sender.seal(RecordType.DONE, done.encode())));
                } catch (ProtocolException e) {
                    throw HypervisorException.protocol(e);
                }
            }
        }
    }

    /** A verified RELEASE: record RESUMING, run the VM, record COMMITTED with DONE. Caller holds the hv lock. */
    private Token resumeDestination(DestinationRun run, MigrationRecord r, Token release)
            throws HypervisorException {
        if (r.inDoubt) {
            throw doubt(r);
        }
        expireIfLate(run);
        if (r.state != MigrationState.READY) {
            throw SimHypervisor.err(Reason.REFUSED, "RELEASE for migration " + r.id + " is refused: it is " + r.state
                    + (r.state == MigrationState.ABORTED_BY_DESTINATION ? " (this host aborted and zeroized its copy;"
                            + " it never resumes this migration)" : ""));
        }
        Domain d = run == null ? hv.domainOf(r) : run.domain;
        if (d == null || d.destroyed() || d.state != DomainState.INCOMING) {
            throw SimHypervisor.err(Reason.REFUSED, "the verified copy of VM " + r.vmName + " is no longer on host "
                    + hv.hostId + " (the host restarted): it can run only at the source; export this host's ABORT "
                    + "token and import it there");
        }
        // one decision, as in docs/commit-model.pml (D_RESUMING): RESUMING is sealed together with the DONE token, so
        // from here this host never aborts and serves DONE, also after a crash; only then does the VM run
        Token done = issue(TokenKind.DONE, r, r.manifestDigest);
        r.tokens.put(TokenKind.RELEASE, release.encode());
        r.tokens.put(TokenKind.DONE, done.encode());
        r.state = MigrationState.RESUMING;
        try {
            hv.state.persist();
        } catch (java.io.IOException e) {
            r.tokens.remove(TokenKind.DONE);
            r.tokens.remove(TokenKind.RELEASE);
            r.state = MigrationState.READY;
            throw SimHypervisor.internal("cannot seal RESUMING of migration " + r.id + " (not resumed)", e);
        }
        d.state = DomainState.RUNNING;
        r.resumeMillis = System.currentTimeMillis();
        d.workload.resume();
        r.state = MigrationState.COMMITTED;
        r.endMillis = r.resumeMillis;
        // COMMITTED adds nothing a restart needs (RESUMING already serves DONE and refuses ABORT): written lazily
        hv.persistLater();
        publishOsView(d);
        LOG.info("host {}: migration {} RESUMED here, DONE", hv.hostId, r.id);
        return done;
    }

    /** READY waited longer than its deadline: the destination aborts and zeroizes on its own. */
    private void expireIfLate(DestinationRun run) throws HypervisorException {
        if (run != null && run.rec != null && run.rec.state == MigrationState.READY
                && System.currentTimeMillis() >= run.readyDeadline) {
            abortDestinationLocally(run, ProtocolException.Reason.DEADLINE, "no RELEASE or ABORT within "
                    + run.request.readyDeadlineMs() + " ms after READY");
            throw new HypervisorException(Reason.REFUSED, ProtocolException.Reason.DEADLINE, "migration "
                    + run.rec.id + " passed its READY deadline (" + run.request.readyDeadlineMs()
                    + " ms): the destination aborted and zeroized its copy", null);
        }
    }

    ProtocolMessage abortDestination(long handle, ProtocolException.Reason reason, String detail)
            throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            synchronized (hv) {
                MigrationRecord r = run.rec;
                if (r == null) {
                    zeroize(run.domain);
                    return new ProtocolMessage(ProtocolMessage.Kind.ABORT_BY_DESTINATION, new byte[0]);
                }
                if (r.state == MigrationState.RESUMING || r.state == MigrationState.COMMITTED) {
                    throw SimHypervisor.err(Reason.REFUSED, "VM " + r.vmName + " resumed on host " + hv.hostId
                            + " in migration " + r.id + ": the destination never aborts after it resumed");
                }
                if (r.state != MigrationState.ABORTED_BY_DESTINATION) {
                    if (r.state.isFinal()) {
                        throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " is already " + r.state);
                    }
                    if (r.inDoubt) {
                        throw doubt(r);
                    }
                    abortDestinationLocally(run, reason, detail);
                }
                if (run.abortRecord == null) {
                    byte[] token = r.tokens.get(TokenKind.ABORT_BY_DESTINATION);
                    if (run.sender == null || token == null) {
                        return new ProtocolMessage(ProtocolMessage.Kind.ABORT_BY_DESTINATION, new byte[0]);
                    }
                    try {
                        run.abortRecord = Records.encode(run.sender.seal(RecordType.ABORT, token));
                    } catch (ProtocolException e) {
                        throw HypervisorException.protocol(e);
                    }
                }
                return new ProtocolMessage(ProtocolMessage.Kind.ABORT_BY_DESTINATION, run.abortRecord);
            }
        }
    }

    /** Records ABORT_BY_DESTINATION and zeroizes the copy. Caller holds the hv lock; never after RESUMING. */
    private void abortDestinationLocally(DestinationRun run, ProtocolException.Reason reason, String detail)
            throws HypervisorException {
        MigrationRecord r = run.rec;
        abortDestinationRecord(r, reason, detail);
        if (run.received != null) {
            run.received.destroy();
        }
        zeroize(run.domain);
    }

    private void abortDestinationRecord(MigrationRecord r, ProtocolException.Reason reason, String detail)
            throws HypervisorException {
        if (r.transcriptHash != null) {
            r.tokens.put(TokenKind.ABORT_BY_DESTINATION,
                    issue(TokenKind.ABORT_BY_DESTINATION, r, r.manifestDigest).encode());
        }
        r.state = MigrationState.ABORTED_BY_DESTINATION;
        r.outcomeReason = reason.name() + (detail == null || detail.isEmpty() ? "" : ": " + detail);
        r.endMillis = System.currentTimeMillis();
        hv.persist();
        LOG.info("host {}: migration {} ABORTED by the destination: {}", hv.hostId, r.id, r.outcomeReason);
    }

    private static void zeroize(Domain d) {
        if (d == null) {
            return;
        }
        d.state = DomainState.ZEROIZED;
        d.life.readLock().lock();
        try {
            for (ProtectedProcess p : d.processes) {
                p.zeroize();
            }
        } finally {
            d.life.readLock().unlock();
        }
    }

    void acceptAbortAtDestination(long handle, byte[] bytes) throws HypervisorException {
        DestinationRun run = destination(handle);
        synchronized (run) {
            synchronized (hv) {
                if (run.rec == null) {
                    throw SimHypervisor.err(Reason.REFUSED, "ABORT before HELLO in destination session " + handle);
                }
                applyPeerAbort(run.rec, openAbort(bytes, run.receiver, run.rec), TokenKind.ABORT_BY_SOURCE);
                if (run.received != null) {
                    run.received.destroy();
                }
            }
        }
    }

    /** The destroyed INCOMING domain of a run that never verified: its migration ends as aborted here. */
    void abandonIncoming(Domain d) throws HypervisorException {
        MigrationRecord r = d.migration;
        if (r != null && !r.state.isFinal()) {
            abortDestinationRecord(r, ProtocolException.Reason.UNEXPECTED_RECORD,
                    "dom0 destroyed the incoming VM before verification");
        }
    }

    // ---- tokens (in session or carried by hand) --------------------------------------------------------------

    private Token issue(TokenKind kind, MigrationRecord r, byte[] manifestDigest) throws HypervisorException {
        try {
            return Token.issue(kind, org.sealift.protocol.handshake.MigrationId.of(r.id.bytes()), r.transcriptHash,
                    manifestDigest, hv.attestationKey());
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    /** Signed by the peer's AK, for this migration and transcript, and (if required) this MANIFEST. */
    private static void verifyToken(Token t, TokenKind kind, MigrationRecord r, boolean manifestRequired)
            throws ProtocolException {
        if (t.kind() != kind) {
            throw new ProtocolException(ProtocolException.Reason.UNEXPECTED_RECORD, "expected a " + kind
                    + " token, got " + t.kind());
        }
        if (!Arrays.equals(t.migrationId().bytes(), r.id.bytes())) {
            throw new ProtocolException(ProtocolException.Reason.REPLAY, kind + " token is for migration "
                    + t.migrationId() + ", not " + r.id);
        }
        if (r.transcriptHash == null || !Arrays.equals(t.transcriptHash(), r.transcriptHash)) {
            throw new ProtocolException(ProtocolException.Reason.REPLAY, kind + " token names another handshake "
                    + "transcript than migration " + r.id);
        }
        boolean ours = r.manifestDigest != null && Arrays.equals(t.manifestDigest(), r.manifestDigest);
        if (manifestRequired ? !ours : !(ours || !t.hasManifest())) {
            throw new ProtocolException(ProtocolException.Reason.MANIFEST_MISMATCH, kind + " token names another "
                    + "MANIFEST than the one of migration " + r.id);
        }
        PublicKey peer = peerKey(r);
        if (!t.isSignedBy(peer)) {
            throw new ProtocolException(ProtocolException.Reason.TAMPERED, kind + " token of migration " + r.id
                    + " is not signed by the attestation key of " + r.peerHostId);
        }
    }

    private static PublicKey peerKey(MigrationRecord r) throws ProtocolException {
        if (r.peerAkCertificate == null) {
            throw new ProtocolException(ProtocolException.Reason.UNATTESTED, "migration " + r.id
                    + " never authenticated its peer: no token of it can be checked");
        }
        X509Certificate c = Certificates.parse(r.peerAkCertificate);
        return c.getPublicKey();
    }

    /** An ABORT as in-session control record or as a bare token (file carried by hand). */
    private Token openAbort(byte[] bytes, ControlReceiver receiver, MigrationRecord r) throws HypervisorException {
        try {
            if (bytes.length == Token.ENCODED_LENGTH) {
                return Token.decode(bytes);
            }
            if (receiver == null) {
                throw new ProtocolException(ProtocolException.Reason.UNEXPECTED_RECORD, "an ABORT record before the "
                        + "handshake completed");
            }
            return Token.decode(receiver.open(Records.decodeOne(bytes, RecordType.ABORT)));
        } catch (ProtocolException e) {
            r.anomaly(e.reason().name(), "ABORT: " + e.getMessage());
            throw HypervisorException.protocol(e);
        }
    }

    /** The peer aborted. Caller holds the hv lock. */
    private void applyPeerAbort(MigrationRecord r, Token t, TokenKind expected) throws HypervisorException {
        try {
            verifyToken(t, expected, r, false);
        } catch (ProtocolException e) {
            r.anomaly(e.reason().name(), "ABORT: " + e.getMessage());
            throw HypervisorException.protocol(e);
        }
        MigrationState target = expected == TokenKind.ABORT_BY_DESTINATION ? MigrationState.ABORTED_BY_DESTINATION
                : MigrationState.ABORTED_BY_SOURCE;
        if (r.state == target) {
            return;
        }
        if (r.state == MigrationState.COMMITTED || r.state == MigrationState.RESUMING) {
            r.anomaly("UNEXPECTED_RECORD", expected + " after the VM resumed at the destination");
            hv.persist();
            throw new HypervisorException(Reason.REFUSED, ProtocolException.Reason.UNEXPECTED_RECORD, "migration "
                    + r.id + " is " + r.state + ": an ABORT cannot undo it", null);
        }
        if (r.state.isFinal()) {
            throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " is already " + r.state);
        }
        r.tokens.put(expected, t.encode());
        r.state = target;
        r.inDoubt = false;
        r.outcomeReason = "aborted by " + SimHypervisor.peer(r);
        r.endMillis = System.currentTimeMillis();
        Domain d = hv.domainOf(r);
        if (d != null) {
            if (r.role == MigrationRole.SOURCE) {
                if (d.state == DomainState.RELEASED) {
                    d.state = DomainState.PAUSED; // the destination's ABORT gives the VM back: it may resume here
                }
            } else {
                zeroize(d);
            }
        }
        hv.persist();
        if (r.role == MigrationRole.SOURCE) {
            endSealing(r);
        }
        LOG.info("host {}: migration {} {} (peer's token)", hv.hostId, r.id, target);
    }

    byte[] exportToken(MigrationId id, org.sealift.agent.spi.TokenKind kind) throws HypervisorException {
        synchronized (hv) {
            MigrationRecord r = hv.record(id);
            TokenKind k = switch (kind) {
                case RELEASE -> TokenKind.RELEASE;
                case DONE -> TokenKind.DONE;
                case READY -> TokenKind.READY;
                case ABORT -> r.role == MigrationRole.SOURCE ? TokenKind.ABORT_BY_SOURCE
                        : TokenKind.ABORT_BY_DESTINATION;
            };
            if (k.signer() != (r.role == MigrationRole.SOURCE ? Role.SOURCE : Role.DESTINATION)) {
                throw SimHypervisor.err(Reason.REFUSED, kind + " tokens are signed by the "
                        + k.signer().name().toLowerCase() + "; host " + hv.hostId + " is the "
                        + r.role.name().toLowerCase() + " of migration " + id);
            }
            byte[] t = r.tokens.get(k);
            if (t != null) {
                return t.clone();
            }
            if (kind == org.sealift.agent.spi.TokenKind.ABORT) {
                // deciding ABORT now is allowed exactly where an in-session abort would be; dom0 asked for it on
                // purpose, so the record says CANCELLED and names the action (the hypervisor cannot tell an
                // operator's export from the agent's recovery: both come from dom0)
                boolean live = runs.get(handles.getOrDefault(id, -1L)) != null;
                String why = "this host's ABORT token was exported while the migration was " + r.state
                        + (live ? " (an operator's token export, or the agent giving up the migration)"
                                : " and its session had died with this hypervisor's restart (the agent's recovery,"
                                        + " or an operator's token export)");
                if (r.inDoubt) {
                    throw doubt(r);
                }
                if (r.transcriptHash == null) {
                    throw SimHypervisor.err(Reason.REFUSED, "migration " + id + " never completed its handshake: "
                            + "the peer holds nothing to abort");
                }
                if (r.role == MigrationRole.SOURCE) {
                    if (r.state == MigrationState.PRECOPY || r.state == MigrationState.FROZEN) {
                        abortSourceLocally(r, ProtocolException.Reason.CANCELLED, why);
                        return r.tokens.get(k).clone();
                    }
                } else if (r.state == MigrationState.PRECOPY || r.state == MigrationState.READY) {
                    Object run = runs.get(handles.getOrDefault(id, -1L));
                    if (run instanceof DestinationRun dr) {
                        abortDestinationLocally(dr, ProtocolException.Reason.CANCELLED, why);
                    } else {
                        abortDestinationRecord(r, ProtocolException.Reason.CANCELLED, why);
                        zeroize(hv.domainOf(r));
                    }
                    return r.tokens.get(k).clone();
                }
            }
            throw SimHypervisor.err(Reason.REFUSED, "host " + hv.hostId + " holds no " + kind + " token for migration "
                    + id + ": it is " + r.state + " (" + r.toDecision().detail() + ")");
        }
    }

    MigrationDecision importToken(byte[] bytes) throws HypervisorException {
        Token t;
        try {
            t = Token.decode(bytes);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
        MigrationId id = MigrationId.of(t.migrationId().bytes());
        Object runObj;
        synchronized (hv) {
            MigrationRecord r = hv.record(id);
            runObj = runs.get(handles.getOrDefault(id, -1L));
        }
        Object lock = runObj == null ? new Object() : runObj;
        synchronized (lock) {
            synchronized (hv) {
                MigrationRecord r = hv.record(id);
                hv.checkStateFile();
                switch (t.kind()) {
                    case RELEASE -> {
                        requireRole(r, MigrationRole.DESTINATION, t);
                        if (r.inDoubt) {
                            throw doubt(r); // its record may be older than the truth: no resume on its word
                        }
                        try {
                            verifyToken(t, TokenKind.RELEASE, r, true);
                        } catch (ProtocolException e) {
                            throw HypervisorException.protocol(e);
                        }
                        if (r.state != MigrationState.COMMITTED) {
                            resumeDestination(runObj instanceof DestinationRun dr ? dr : null, r, t);
                        }
                    }
                    case DONE -> {
                        requireRole(r, MigrationRole.SOURCE, t);
                        try {
                            verifyToken(t, TokenKind.DONE, r, true);
                        } catch (ProtocolException e) {
                            throw HypervisorException.protocol(e);
                        }
                        applyDone(r, t);
                    }
                    case ABORT_BY_DESTINATION -> {
                        requireRole(r, MigrationRole.SOURCE, t);
                        applyPeerAbort(r, t, TokenKind.ABORT_BY_DESTINATION);
                    }
                    case ABORT_BY_SOURCE -> {
                        requireRole(r, MigrationRole.DESTINATION, t);
                        applyPeerAbort(r, t, TokenKind.ABORT_BY_SOURCE);
                    }
                    default -> throw SimHypervisor.err(Reason.INVALID_ARGUMENT, t.kind() + " tokens travel only "
                            + "inside a migration session; import RELEASE, DONE or ABORT tokens");
                }
                return r.toDecision();
            }
        }
    }

    private static void requireRole(MigrationRecord r, MigrationRole role, Token t) throws HypervisorException {
        if (r.role != role) {
            throw SimHypervisor.err(Reason.REFUSED, "a " + t.kind() + " token is imported at the "
                    + role.name().toLowerCase() + "; this host is the " + r.role.name().toLowerCase()
                    + " of migration " + r.id);
        }
    }

    MigrationDecision importFence(byte[] fenceBytes, byte[] policyBytes) throws HypervisorException {
        synchronized (hv) {
            var trust = hv.trust();
            SignedPolicy sp = SimHypervisor.parsePolicy(policyBytes);
            Fence fence;
            try {
                fence = Fence.parse(fenceBytes);
                new FenceBundle(fence, sp).verify(trust);
            } catch (ProtocolException e) {
                throw HypervisorException.protocol(e);
            }
            MigrationRecord r = hv.record(MigrationId.of(fence.migrationId()));
            try {
                byte[] lost = Certificates.fingerprint(Certificates.parse(r.peerAkCertificate == null ? new byte[0]
                        : r.peerAkCertificate));
                fence.verifyFor(trust, r.id.bytes(), r.manifestDigest == null ? new byte[32] : r.manifestDigest,
                        lost);
                Policy p = hv.policies().accept(sp, Instant.now());
                hv.hardware.raisePolicySerial(p.serial());
                hv.state.policy = sp.encoded();
            } catch (ProtocolException e) {
                throw HypervisorException.protocol(e);
            } catch (java.io.IOException e) {
                throw SimHypervisor.internal("cannot store the fence's policy on host " + hv.hostId, e);
            }
            Domain d = hv.domainOf(r);
            if (r.role == MigrationRole.DESTINATION) {
                if (r.state != MigrationState.READY || d == null || d.state != DomainState.INCOMING) {
                    throw SimHypervisor.err(Reason.REFUSED, "host " + hv.hostId + " holds no verified copy of VM "
                            + r.vmName + " for migration " + r.id + " (" + r.state + "): the fence cannot run it here");
                }
                r.state = MigrationState.FENCED;
                r.inDoubt = false;
                r.outcomeReason = "fenced: the source " + SimHypervisor.peer(r) + " was declared lost";
                hv.persist();
                d.state = DomainState.RUNNING;
                r.resumeMillis = System.currentTimeMillis();
                d.workload.resume();
                publishOsView(d);
            } else {
                if (r.state.isFinal() && r.state != MigrationState.FENCED) {
                    throw SimHypervisor.err(Reason.REFUSED, "migration " + r.id + " is already " + r.state);
                }
                r.state = MigrationState.FENCED;
                r.inDoubt = false;
                r.outcomeReason = "fenced: the destination " + SimHypervisor.peer(r) + " was declared lost";
                if (d != null && d.state == DomainState.RELEASED) {
                    d.state = DomainState.PAUSED;
                }
                hv.persist();
                endSealing(r);
            }
            LOG.warn("host {}: migration {} FENCED by an operator (trusted override outside G5)", hv.hostId, r.id);
            return r.toDecision();
        }
    }

    private HypervisorException doubt(MigrationRecord r) {
        return SimHypervisor.err(Reason.STATE_IN_DOUBT, "migration " + r.id + " of VM " + r.vmName + " is in doubt on "
                + "host " + hv.hostId + " (" + hv.state.doubtReason + "): it is neither resumed nor aborted here; "
                + "import the peer's token or an operator's fence");
    }

    // ---- deadlines -------------------------------------------------------------------------------------------

    private void sweep() {
        while (!closed) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            for (Object o : runs.values()) {
                if (o instanceof DestinationRun run && run.rec != null && run.rec.state == MigrationState.READY) {
                    synchronized (run) {
                        synchronized (hv) {
                            try {
                                expireIfLate(run);
                            } catch (HypervisorException e) {
                                LOG.info("host {}: {}", hv.hostId, e.getMessage());
                            }
                        }
                    }
                }
            }
        }
    }

    void close() {
        closed = true;
        sweeper.interrupt();
    }
}
