package org.sealift.agent.sim;

import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedAcceptance;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.ProtocolException;

/**
 * The agent's side of the simulated hypervisor: every call goes over the hypervisor's privileged Unix socket (a small
 * pool of connections, so engine threads do not queue behind each other) and guest memory is mapped from the shared
 * file, as dom0 maps foreign pages. This class holds no secrets and takes no decisions; the hypervisor process does.
 * {@link #attachOrStart} starts the hypervisor if it is not running; it then lives on its own (an agent crash does
 * not stop it) and a new agent attaches to it by its socket.
 */
public final class SimBackend implements HypervisorBackend {

    /** The hypervisor's main class, named as a string: agent code never links against the hypervisor package. */
    public static final String HYPERVISOR_MAIN = "org.sealift.hypervisor.sim.SimHypervisorMain";
    private static final int SEAL_CHUNK = 4096;
    private static final int MAX_IDLE = 4;

    private final Path socket;
    private final String hostId;
    private final Deque<SocketChannel> idle = new ArrayDeque<>();
    private volatile boolean closed;

    private SimBackend(Path socket, String hostId) {
        this.socket = socket;
        this.hostId = hostId;
    }

    /** Attaches to a running hypervisor; UNAVAILABLE if none listens on {@code socket}. */
    public static SimBackend attach(Path socket) throws HypervisorException {
        SimBackend b = new SimBackend(socket, "?");
        String host = b.call(SimOp.STATUS, f -> { }, SimFrame::str);
        SimBackend attached = new SimBackend(socket, host);
        attached.idle.addAll(b.idle);
        return attached;
    }

    /** Attaches to the host's hypervisor, starting it first if it is not running. */
    public static SimBackend attachOrStart(SimHostConfig host) throws HypervisorException {
        try {
            return attach(host.socket());
        } catch (HypervisorException e) {
            if (e.reason() != Reason.UNAVAILABLE) {
                throw e;
            }
        }
        Process p = start(host);
        long deadline = System.nanoTime() + host.startTimeout().toNanos();
        while (true) {
            try {
                return attach(host.socket());
            } catch (HypervisorException e) {
                if (e.reason() != Reason.UNAVAILABLE) {
                    throw e;
                }
            }
            if (!p.isAlive()) {
                throw new HypervisorException(Reason.UNAVAILABLE, "the hypervisor of host " + host.hostId()
                        + " exited with status " + p.exitValue() + " while starting: " + logTail(host));
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException(Reason.UNAVAILABLE, "the hypervisor of host " + host.hostId()
                        + " did not open " + host.socket() + " within " + host.startTimeout().toSeconds() + " s: "
                        + logTail(host));
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new HypervisorException(Reason.UNAVAILABLE, "interrupted while starting the hypervisor");
            }
        }
    }

    /** Starts the hypervisor process of {@code host}, detached from the agent (own session, output to its log). */
    public static Process start(SimHostConfig host) throws HypervisorException {
        try {
            Files.createDirectories(host.stateDir());
            List<String> cmd = new ArrayList<>();
            if (new File("/usr/bin/setsid").canExecute()) {
                cmd.add("/usr/bin/setsid"); // a terminal's Ctrl-C to the agent must not stop the hypervisor
            }
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(host.jvmOptions());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(HYPERVISOR_MAIN);
            cmd.addAll(host.arguments());
            File log = host.stateDir().resolve("hypervisor.log").toFile();
            return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "cannot start the hypervisor of host " + host.hostId()
                    + ": " + e.getMessage(), e);
        }
    }

    private static String logTail(SimHostConfig host) {
        try {
            List<String> lines = Files.readAllLines(host.stateDir().resolve("hypervisor.log"), StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log at " + host.stateDir().resolve("hypervisor.log") + ")";
        }
    }

    public String hostId() {
        return hostId;
    }

    public Path socket() {
        return socket;
    }

    /** The hypervisor process id (to watch it, or to crash the whole simulated host in tests). */
    public long hypervisorPid() throws HypervisorException {
        return call(SimOp.STATUS, x -> { }, f -> {
            f.str();
            return f.i64();
        });
    }

    /** How often the hypervisor found its sealed-state file changed behind its back (and rewrote it). */
    public long sealedStateTamperDetections() throws HypervisorException {
        return call(SimOp.STATUS, x -> { }, f -> {
            f.str();
            f.i64();
            return f.i64();
        });
    }

    /** Powers the host off in order (domains are lost, sealed decisions kept) and waits for the process to end. */
    public void shutdownHypervisor() throws HypervisorException {
        long pid = hypervisorPid();
        call(SimOp.SHUTDOWN, f -> { });
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        close();
    }

    // ---- transport ---------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Args {
        void write(SimFrame f) throws HypervisorException;
    }

    private SocketChannel borrow() throws HypervisorException {
        synchronized (idle) {
            SocketChannel c = idle.pollFirst();
            if (c != null) {
                return c;
            }
        }
        if (closed) {
            throw new HypervisorException(Reason.UNAVAILABLE, "this connection to host " + hostId + " was closed");
        }
        try {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            c.connect(UnixDomainSocketAddress.of(socket));
            return c;
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "no hypervisor answers on " + socket + " ("
                    + e.getMessage() + "): start it (sealift agent starts it) or check its hypervisor.log", e);
        }
    }

    private void giveBack(SocketChannel c) {
        synchronized (idle) {
            if (!closed && idle.size() < MAX_IDLE) {
                idle.addFirst(c);
                return;
            }
        }
        quietClose(c);
    }

    private static void quietClose(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // already gone
        }
    }

    private SimFrame call(SimOp op, Args args) throws HypervisorException {
        return call(op, args, (ByteBuffer) null);
    }

    /** A call whose last argument is {@code tail} (length-prefixed bytes), sent without copying it into the frame. */
    private SimFrame call(SimOp op, Args args, ByteBuffer tail) throws HypervisorException {
        SimFrame req = new SimFrame();
        req.u16(op.ordinal());
        args.write(req);
        SocketChannel c = borrow();
        ByteBuffer resp;
        try {
            if (tail == null) {
                req.send(c);
            } else {
                req.send(c, tail);
            }
            resp = SimFrame.receive(c);
        } catch (RuntimeException e) {
            quietClose(c); // a frame over the limit: refused before anything of it was sent, the socket is not reused
            throw e;
        } catch (IOException e) {
            quietClose(c);
            throw new HypervisorException(Reason.UNAVAILABLE, "the hypervisor of host " + hostId + " on " + socket
                    + " went away during " + op + " (" + e.getMessage() + "): if the host crashed, restart it and "
                    + "recover from its sealed decisions", e);
        }
        giveBack(c);
        SimFrame f = SimFrame.reading(resp);
        try {
            if (f.u8() != 0) {
                throw SimCodec.error(f);
            }
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer from the hypervisor: " + e.getMessage());
        }
        return f;
    }

    /** Decoding an answer: an IOException here means the builds of agent and hypervisor differ. */
    @FunctionalInterface
    private interface Reader<T> {
        T read(SimFrame f) throws IOException;
    }

    private <T> T call(SimOp op, Args args, Reader<T> reader) throws HypervisorException {
        return call(op, args, null, reader);
    }

    private <T> T call(SimOp op, Args args, ByteBuffer tail, Reader<T> reader) throws HypervisorException {
        SimFrame f = call(op, args, tail);
        try {
            return reader.read(f);
        } catch (IOException | RuntimeException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "cannot decode the hypervisor's answer to " + op + ": "
                    + e.getMessage() + "; the agent and hypervisor builds differ, restart the hypervisor");
        }
    }

    // ---- identity ----------------------------------------------------------------------------------------------

    @Override
    public HostIdentity identity() throws HypervisorException {
        return call(SimOp.IDENTITY, f -> { }, SimCodec::identity);
    }

    @Override
    public byte[] createEnrollmentRequest() throws HypervisorException {
        return call(SimOp.CREATE_ENROLLMENT, f -> { }, SimFrame::bytes);
    }

    @Override
    public void installClusterTrust(byte[] clusterTrustPem) throws HypervisorException {
        call(SimOp.INSTALL_TRUST, f -> f.bytes(clusterTrustPem));
    }

    @Override
    public void installAttestationCertificate(List<byte[]> chainDer) throws HypervisorException {
        call(SimOp.INSTALL_AK_CHAIN, f -> f.bytesList(chainDer));
    }

    @Override
    public void installPolicy(byte[] signedPolicy) throws HypervisorException {
        call(SimOp.INSTALL_POLICY, f -> f.bytes(signedPolicy));
    }

    // ---- domains -----------------------------------------------------------------------------------------------

    @Override
    public DomainInfo createDomain(DomainConfig config) throws HypervisorException {
        return call(SimOp.CREATE_DOMAIN, f -> SimCodec.config(f, config), SimCodec::info);
    }

    @Override
    public void destroyDomain(int domId) throws HypervisorException {
        call(SimOp.DESTROY_DOMAIN, f -> f.i32(domId));
    }

    @Override
    public List<DomainInfo> listDomains() throws HypervisorException {
        return call(SimOp.LIST_DOMAINS, f -> { }, f -> {
            int n = f.i32();
            List<DomainInfo> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(SimCodec.info(f));
            }
            return out;
        });
    }

    @Override
    public DomainInfo domainInfo(int domId) throws HypervisorException {
        return call(SimOp.DOMAIN_INFO, f -> f.i32(domId), SimCodec::info);
    }

    @Override
    public DomainInfo domainByName(String name) throws HypervisorException {
        return call(SimOp.DOMAIN_BY_NAME, f -> f.str(name), SimCodec::info);
    }

    @Override
    public void pause(int domId) throws HypervisorException {
        call(SimOp.PAUSE, f -> f.i32(domId));
    }

    @Override
    public void resume(int domId) throws HypervisorException {
        call(SimOp.RESUME, f -> f.i32(domId));
    }

    @Override
    public void enableDirtyLogging(int domId) throws HypervisorException {
        call(SimOp.DIRTY_ENABLE, f -> f.i32(domId));
    }

    @Override
    public void disableDirtyLogging(int domId) throws HypervisorException {
        call(SimOp.DIRTY_DISABLE, f -> f.i32(domId));
    }

    @Override
    public PageBitmap readDirtyLog(int domId, boolean clean) throws HypervisorException {
        return call(SimOp.DIRTY_READ, f -> f.i32(domId).bool(clean), SimCodec::bitmap);
    }

    @Override
    public GuestMemory mapGuestMemory(int domId, boolean writable) throws HypervisorException {
        SimFrame f = call(SimOp.MAP_INFO, x -> x.i32(domId));
        try {
            String path = f.str();
            long pages = f.i64();
            return SimGuestMemory.map(Path.of(path), pages, writable, "domain " + domId);
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to MAP_INFO: " + e.getMessage());
        }
    }

    @Override
    public PageBitmap protectedPages(int domId) throws HypervisorException {
        return call(SimOp.PROTECTED_PAGES, f -> f.i32(domId), SimCodec::bitmap);
    }

    @Override
    public byte[] vcpuContext(int domId, int vcpu) throws HypervisorException {
        return call(SimOp.VCPU_GET, f -> f.i32(domId).i32(vcpu), SimFrame::bytes);
    }

    @Override
    public void setVcpuContext(int domId, int vcpu, byte[] context) throws HypervisorException {
        call(SimOp.VCPU_SET, f -> f.i32(domId).i32(vcpu).bytes(context));
    }

    @Override
    public byte[] exportProtectionMetadata(int domId) throws HypervisorException {
        return call(SimOp.EXPORT_METADATA, f -> f.i32(domId), SimFrame::bytes);
    }

    // ---- migrations --------------------------------------------------------------------------------------------

    @Override
    public PlainMigration beginPlainMigration(int domId) throws HypervisorException {
        MigrationId id = call(SimOp.PLAIN_BEGIN, f -> f.i32(domId), SimCodec::migrationId);
        return new PlainMigration() {
            @Override
            public MigrationId id() {
                return id;
            }

            @Override
            public int domId() {
                return domId;
            }

            @Override
            public void finish(boolean committed) throws HypervisorException {
                call(SimOp.PLAIN_FINISH, f -> {
                    SimCodec.migrationId(f, id);
                    f.bool(committed);
                });
            }
        };
    }

    @Override
    public SourceSession beginSecureSource(SourceRequest request) throws HypervisorException {
        SimFrame f = call(SimOp.SRC_BEGIN, x -> x.i32(request.domId()).optStr(request.destinationHostId()));
        try {
            long h = f.i64();
            return new Source(h, SimCodec.migrationId(f), request.domId());
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to SRC_BEGIN: " + e.getMessage());
        }
    }

    @Override
    public DestinationSession openSecureDestination(DestinationRequest request) throws HypervisorException {
        SimFrame f = call(SimOp.DST_OPEN, x -> {
            SimCodec.config(x, request.config());
            x.optStr(request.sourceHostId()).i64(request.readyDeadlineMs());
        });
        try {
            long h = f.i64();
            return new Destination(h, f.i32(), null);
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to DST_OPEN: " + e.getMessage());
        }
    }

    @Override
    public SourceSession sourceSession(MigrationId id) throws HypervisorException {
        SimFrame f = call(SimOp.SESSION_LOOKUP, x -> {
            SimCodec.migrationId(x, id);
            x.u8(MigrationRole.SOURCE.ordinal());
        });
        try {
            return new Source(f.i64(), id, f.i32());
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to SESSION_LOOKUP: " + e.getMessage());
        }
    }

    @Override
    public DestinationSession destinationSession(MigrationId id) throws HypervisorException {
        SimFrame f = call(SimOp.SESSION_LOOKUP, x -> {
            SimCodec.migrationId(x, id);
            x.u8(MigrationRole.DESTINATION.ordinal());
        });
        try {
            return new Destination(f.i64(), f.i32(), id);
        } catch (IOException e) {
            throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to SESSION_LOOKUP: " + e.getMessage());
        }
    }

    /** Agent-side handle of a source session: an id, nothing secret. */
    private final class Source implements SourceSession {
        private final long handle;
        private final MigrationId id;
        private final int domId;
        private final SealedSlotReader slots = new SealedSlotReader();

        Source(long handle, MigrationId id, int domId) {
            this.handle = handle;
            this.id = id;
            this.domId = domId;
        }

        @Override
        public MigrationId id() {
            return id;
        }

        @Override
        public int domId() {
            return domId;
        }

        @Override
        public ProtocolMessage hello() throws HypervisorException {
            return call(SimOp.SRC_HELLO, f -> f.i64(handle), SimCodec::message);
        }

        @Override
        public ProtocolMessage onHelloReply(byte[] header, byte[] helloReply) throws HypervisorException {
            return call(SimOp.SRC_HELLO_REPLY, f -> f.i64(handle).bytes(header).bytes(helloReply), SimCodec::message);
        }

        @Override
        public SealedBatch sealPages(long[] pfns, int offset, int count) throws HypervisorException {
            if (offset < 0 || count < 0 || offset + count > pfns.length) {
                throw new HypervisorException(Reason.INVALID_ARGUMENT, "pfn range " + offset + "+" + count
                        + " lies outside the " + pfns.length + " pfns given");
            }
            if (count <= SEAL_CHUNK) {
                long[] part = java.util.Arrays.copyOfRange(pfns, offset, offset + count);
                SimFrame f = call(SimOp.SRC_SEAL_PAGES, x -> x.i64(handle).longs(part));
                try {
                    String file = f.str();
                    long[] ids = f.longs();
                    long[] versions = f.longs();
                    long[] positions = f.longs();
                    return slots.copy(file, ids, versions, positions);
                } catch (IOException e) {
                    throw new HypervisorException(Reason.UNAVAILABLE, "cannot read the sealed pages the hypervisor"
                            + " of host " + hostId + " left in its slot file: " + e.getMessage(), e);
                }
            }
            List<SealedBatch> parts = new ArrayList<>();
            for (int o = offset; o < offset + count; o += SEAL_CHUNK) {
                parts.add(sealPages(pfns, o, Math.min(SEAL_CHUNK, offset + count - o)));
            }
            return concat(parts);
        }

        @Override
        public SealedBatch sealVcpus() throws HypervisorException {
            return call(SimOp.SRC_SEAL_VCPUS, f -> f.i64(handle), SimCodec::batch);
        }

        @Override
        public ProtocolMessage manifest() throws HypervisorException {
            return call(SimOp.SRC_MANIFEST, f -> f.i64(handle), SimCodec::message);
        }

        @Override
        public ProtocolMessage release(byte[] ready) throws HypervisorException {
            return call(SimOp.SRC_RELEASE, f -> f.i64(handle).bytes(ready), SimCodec::message);
        }

        @Override
        public void onDone(byte[] done) throws HypervisorException {
            call(SimOp.SRC_DONE, f -> f.i64(handle).bytes(done));
            slots.close();
        }

        @Override
        public ProtocolMessage abort(ProtocolException.Reason reason, String detail) throws HypervisorException {
            slots.close();
            return call(SimOp.SRC_ABORT, f -> f.i64(handle).u8(reason.ordinal()).str(detail == null ? "" : detail),
                    SimCodec::message);
        }

        @Override
        public void acceptAbort(byte[] abortByDestination) throws HypervisorException {
            slots.close();
            call(SimOp.SRC_ACCEPT_ABORT, f -> f.i64(handle).bytes(abortByDestination));
        }

        @Override
        public MigrationDecision decision() throws HypervisorException {
            return call(SimOp.SESSION_INFO, f -> f.i64(handle), SimCodec::decision);
        }
    }

    private static SealedBatch concat(List<SealedBatch> parts) {
        int n = 0;
        int bytes = 0;
        for (SealedBatch b : parts) {
            n += b.count();
            bytes += b.byteLength();
        }
        long[] ids = new long[n];
        long[] versions = new long[n];
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        ByteBuffer all = ByteBuffer.allocate(bytes);
        int i = 0;
        for (SealedBatch b : parts) {
            for (int k = 0; k < b.count(); k++, i++) {
                ids[i] = b.id(k);
                versions[i] = b.version(k);
                offsets[i] = all.position();
                ByteBuffer r = b.record(k);
                lengths[i] = r.remaining();
                all.put(r);
            }
            b.release();
        }
        all.flip();
        return new SealedBatch(parts.isEmpty() ? SealedBatch.Kind.PAGE : parts.get(0).kind(), ids, versions, offsets,
                lengths, all);
    }

    /** Agent-side handle of a destination session. */
    private final class Destination implements DestinationSession {
        private final long handle;
        private final int domId;
        private volatile MigrationId id;

        Destination(long handle, int domId, MigrationId id) {
            this.handle = handle;
            this.domId = domId;
            this.id = id;
        }

        @Override
        public MigrationId id() throws HypervisorException {
            MigrationId m = id;
            if (m == null) {
                m = call(SimOp.SESSION_INFO, f -> f.i64(handle), SimCodec::decision).id();
                id = m;
            }
            return m;
        }

        @Override
        public int domId() {
            return domId;
        }

        @Override
        public ProtocolMessage onHello(byte[] header, byte[] hello) throws HypervisorException {
            SimFrame f = call(SimOp.DST_HELLO, x -> x.i64(handle).bytes(header).bytes(hello));
            try {
                ProtocolMessage reply = SimCodec.message(f);
                id = SimCodec.migrationId(f);
                return reply;
            } catch (IOException e) {
                throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to DST_HELLO: " + e.getMessage());
            }
        }

        @Override
        public void onFinish(byte[] finish) throws HypervisorException {
            call(SimOp.DST_FINISH, f -> f.i64(handle).bytes(finish));
        }

        @Override
        public SealedAcceptance acceptSealed(ByteBuffer records) throws HypervisorException {
            SimFrame f = call(SimOp.DST_ACCEPT_SEALED, x -> x.i64(handle), records);
            try {
                return new SealedAcceptance(f.i32(), f.i32());
            } catch (IOException e) {
                throw new HypervisorException(Reason.UNAVAILABLE, "malformed answer to DST_ACCEPT_SEALED: "
                        + e.getMessage());
            }
        }

        @Override
        public ProtocolMessage onManifest(byte[] manifest) throws HypervisorException {
            // the record (2 MiB per GiB protected) goes to the socket as it is, not copied into a growing frame
            return call(SimOp.DST_MANIFEST, f -> f.i64(handle), ByteBuffer.wrap(manifest), SimCodec::message);
        }

        @Override
        public ProtocolMessage onRelease(byte[] release) throws HypervisorException {
            return call(SimOp.DST_RELEASE, f -> f.i64(handle).bytes(release), SimCodec::message);
        }

        @Override
        public ProtocolMessage abort(ProtocolException.Reason reason, String detail) throws HypervisorException {
            return call(SimOp.DST_ABORT, f -> f.i64(handle).u8(reason.ordinal()).str(detail == null ? "" : detail),
                    SimCodec::message);
        }

        @Override
        public void acceptAbort(byte[] abortBySource) throws HypervisorException {
            call(SimOp.DST_ACCEPT_ABORT, f -> f.i64(handle).bytes(abortBySource));
        }

        @Override
        public MigrationDecision decision() throws HypervisorException {
            return call(SimOp.SESSION_INFO, f -> f.i64(handle), SimCodec::decision);
        }
    }

    // ---- recovery and attestation ------------------------------------------------------------------------------

    @Override
    public List<MigrationDecision> decisions() throws HypervisorException {
        return call(SimOp.DECISIONS, f -> { }, f -> {
            int n = f.i32();
            List<MigrationDecision> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(SimCodec.decision(f));
            }
            return out;
        });
    }

    @Override
    public byte[] exportToken(MigrationId id, TokenKind kind) throws HypervisorException {
        return call(SimOp.EXPORT_TOKEN, f -> {
            SimCodec.migrationId(f, id);
            f.u8(kind.ordinal());
        }, SimFrame::bytes);
    }

    @Override
    public MigrationDecision importToken(byte[] token) throws HypervisorException {
        return call(SimOp.IMPORT_TOKEN, f -> f.bytes(token), SimCodec::decision);
    }

    @Override
    public MigrationDecision importFence(byte[] fence, byte[] newPolicy) throws HypervisorException {
        return call(SimOp.IMPORT_FENCE, f -> f.bytes(fence).bytes(newPolicy), SimCodec::decision);
    }

    @Override
    public SignedAttestation signAttestation(MigrationId id, byte[] agentStatistics) throws HypervisorException {
        return call(SimOp.SIGN_ATTESTATION, f -> {
            SimCodec.migrationId(f, id);
            f.bytes(agentStatistics);
        }, SimCodec::attestation);
    }

    @Override
    public SignedAttestation countersignAttestation(MigrationId id, byte[] proposedRecord)
            throws HypervisorException {
        return call(SimOp.COUNTERSIGN_ATTESTATION, f -> {
            SimCodec.migrationId(f, id);
            f.bytes(proposedRecord);
        }, SimCodec::attestation);
    }

    @Override
    public LogHead appendLogEntry(long index, byte[] previousHash, byte[] encodedEntry) throws HypervisorException {
        return call(SimOp.LOG_APPEND, f -> f.i64(index).bytes(previousHash).bytes(encodedEntry), SimCodec::logHead);
    }

    @Override
    public LogHead signLogHead(byte[] verifierNonce) throws HypervisorException {
        return call(SimOp.LOG_SIGN_HEAD, f -> f.bytes(verifierNonce), SimCodec::logHead);
    }

    @Override
    public byte[] protectedMemoryDigest(int domId) throws HypervisorException {
        return call(SimOp.PROTECTED_DIGEST, f -> f.i32(domId), SimFrame::bytes);
    }

    /** Detaches: closes this agent's connections; the hypervisor and its domains keep running. */
    @Override
    public void close() {
        closed = true;
        synchronized (idle) {
            for (SocketChannel c : idle) {
                quietClose(c);
            }
            idle.clear();
        }
    }

    @Override
    public String toString() {
        return "simulated hypervisor of host " + hostId + " on " + socket;
    }

    /** For callers that need an Optional-returning attach (e.g. status commands). */
    public static Optional<SimBackend> tryAttach(Path socket) {
        try {
            return Optional.of(attach(socket));
        } catch (HypervisorException e) {
            return Optional.empty();
        }
    }
}
