package org.sealift.hypervisor.sim;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.sealift.agent.sim.SimCodec;
import org.sealift.agent.sim.SimFrame;
import org.sealift.agent.sim.SimOp;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The privileged socket of the simulated hypervisor (what privcmd and the hypercall interface are to Xen's dom0): a
 * Unix domain socket, mode 0600, one thread per connection. Each request is decoded, checked and carried out by
 * {@link SimHypervisor}; a refusal goes back as an error frame with the reason and a message. Clients come and go
 * (an agent crash closes its connections); the hypervisor and its domains stay.
 */
final class HypervisorServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HypervisorServer.class);
    /** A connection's receive buffer: 2 MiB at first, kept up to 16 MiB (larger frames get a buffer each). */
    private static final int INBOX = 2 << 20;
    private static final int INBOX_MAX = 16 << 20;

    private final SimHypervisor hv;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
    private final Runnable shutdownHook;
    private volatile boolean closed;

    HypervisorServer(SimHypervisor hv, Path socket, Runnable shutdownHook) throws IOException {
        this.hv = hv;
        this.socket = socket;
        this.shutdownHook = shutdownHook;
        Files.createDirectories(socket.toAbsolutePath().getParent());
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        if (socket.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // only dom0's privileged user may talk to the hypervisor
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        }
    }

    void start() {
        Thread t = new Thread(this::acceptLoop, "hypervisor-accept");
        t.setDaemon(false);
        t.start();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel c = server.accept();
                clients.add(c);
                Thread t = new Thread(() -> serve(c), "hypervisor-client");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("host {}: accept failed: {}", hv.hostId, e.getMessage());
                }
            }
        }
    }

    private void serve(SocketChannel c) {
        try {
            // sealed batches (up to a MiB) arrive straight into this buffer; it grows to the largest frame seen (a
            // MANIFEST: 2 MiB per GiB protected), so that one is read without a new buffer each time either
            ByteBuffer inbox = ByteBuffer.allocateDirect(INBOX);
            while (!closed) {
                ByteBuffer req = SimFrame.receive(c, inbox);
                if (!req.isDirect() && req.capacity() <= INBOX_MAX) {
                    inbox = ByteBuffer.allocateDirect(Integer.highestOneBit(req.capacity() - 1) << 1);
                }
                SimFrame response = handle(SimFrame.reading(req));
                response.send(c);
            }
        } catch (EOFException e) {
            // the agent went away (exit or crash): nothing to clean up, sessions live in the hypervisor
        } catch (IOException e) {
            if (!closed) {
                LOG.info("host {}: client connection ended: {}", hv.hostId, e.getMessage());
            }
        } finally {
            clients.remove(c);
            try {
                c.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }

    private SimFrame handle(SimFrame in) {
        SimFrame out = new SimFrame();
        SimOp op = null;
        try {
            op = SimOp.of(in.u16());
            if (op == null) {
                throw SimHypervisor.err(HypervisorException.Reason.INVALID_ARGUMENT,
                        "unknown call on the hypervisor socket: the agent and hypervisor builds differ; restart both");
            }
            out.u8(0);
            dispatch(op, in, out);
            return out;
        } catch (HypervisorException e) {
            SimFrame err = new SimFrame();
            SimCodec.error(err, e);
            return err;
        } catch (IOException | RuntimeException e) {
            if (!(e instanceof IOException)) {
                LOG.error("host {}: internal error in {}", hv.hostId, op, e);
            }
            SimFrame err = new SimFrame();
            SimCodec.error(err, new HypervisorException(HypervisorException.Reason.INTERNAL,
                    "the hypervisor failed on " + op + ": " + e));
            return err;
        }
    }

    private void dispatch(SimOp op, SimFrame in, SimFrame out) throws HypervisorException, IOException {
        Migrations m = hv.migrations;
        switch (op) {
            case STATUS -> out.str(hv.hostId).i64(ProcessHandle.current().pid()).i64(hv.tamperDetections());
            case SHUTDOWN -> new Thread(shutdownHook, "hypervisor-shutdown").start();
            case IDENTITY -> SimCodec.identity(out, hv.identity());
            case CREATE_ENROLLMENT -> out.bytes(hv.createEnrollmentRequest());
            case INSTALL_AK_CHAIN -> hv.installAttestationCertificate(in.bytesList());
            case INSTALL_TRUST -> hv.installClusterTrust(in.bytes());
            case INSTALL_POLICY -> hv.installPolicy(in.bytes());
            case CREATE_DOMAIN -> SimCodec.info(out, hv.createDomain(SimCodec.config(in)));
            case DESTROY_DOMAIN -> hv.destroyDomain(in.i32());
            case LIST_DOMAINS -> {
                List<DomainInfo> all = hv.listDomains();
                out.i32(all.size());
                for (DomainInfo d : all) {
                    SimCodec.info(out, d);
                }
            }
            case DOMAIN_INFO -> SimCodec.info(out, hv.domainInfo(in.i32()));
            case DOMAIN_BY_NAME -> SimCodec.info(out, hv.domainByName(in.str()));
            case PAUSE -> hv.pause(in.i32());
            case RESUME -> hv.resume(in.i32());
            case DIRTY_ENABLE -> hv.enableDirtyLogging(in.i32());
            case DIRTY_DISABLE -> hv.disableDirtyLogging(in.i32());
            case DIRTY_READ -> {
                int id = in.i32();
                SimCodec.bitmap(out, hv.readDirtyLog(id, in.bool()));
            }
            case MAP_INFO -> {
                Domain d = hv.mapInfo(in.i32());
                out.str(d.memoryFile.toAbsolutePath().toString()).i64(d.pageCount());
            }
            case PROTECTED_PAGES -> SimCodec.bitmap(out, hv.protectedPages(in.i32()));
            case VCPU_GET -> {
                int id = in.i32();
                out.bytes(hv.vcpuContext(id, in.i32()));
            }
            case VCPU_SET -> {
                int id = in.i32();
                int v = in.i32();
                hv.setVcpuContext(id, v, in.bytes());
            }
            case EXPORT_METADATA -> out.bytes(hv.exportProtectionMetadata(in.i32()));
            case PLAIN_BEGIN -> SimCodec.migrationId(out, m.beginPlain(in.i32()));
            case PLAIN_FINISH -> {
                MigrationId id = SimCodec.migrationId(in);
                m.finishPlain(id, in.bool());
            }
            case SRC_BEGIN -> {
                int domId = in.i32();
                Optional<String> dest = in.optStr();
                long h = m.beginSource(domId, dest);
                out.i64(h);
                SimCodec.migrationId(out, m.id(h));
            }
            case SRC_HELLO -> SimCodec.message(out, m.hello(in.i64()));
            case SRC_HELLO_REPLY -> {
                long h = in.i64();
                byte[] header = in.bytes();
                SimCodec.message(out, m.onHelloReply(h, header, in.bytes()));
            }
            case SRC_SEAL_PAGES -> {
                long h = in.i64();
                long[] pfns = in.longs();
                // the records stay in the slot file that dom0 maps; only where they are goes back
                var slots = m.sealPages(h, pfns, 0, pfns.length);
                out.reserve(24 * pfns.length + 256);
                out.str(slots.file()).longs(slots.pfns()).longs(slots.versions()).longs(slots.positions());
            }
            case SRC_SEAL_VCPUS -> SimCodec.batch(out, m.sealVcpus(in.i64()));
            case SRC_MANIFEST -> SimCodec.message(out, m.manifest(in.i64()));
            case SRC_RELEASE -> {
                long h = in.i64();
                SimCodec.message(out, m.release(h, in.bytes()));
            }
            case SRC_DONE -> {
                long h = in.i64();
                m.onDone(h, in.bytes());
            }
            case SRC_ABORT -> {
                long h = in.i64();
                ProtocolException.Reason r = SimCodec.enumOf(ProtocolException.Reason.values(), in.u8());
                SimCodec.message(out, m.abortSource(h, r, in.str()));
            }
            case SRC_ACCEPT_ABORT -> {
                long h = in.i64();
                m.acceptAbortAtSource(h, in.bytes());
            }
            case DST_OPEN -> {
                var config = SimCodec.config(in);
                Optional<String> src = in.optStr();
                long deadline = in.i64();
                long h = m.openDestination(new DestinationRequest(config, src, deadline));
                out.i64(h).i32(m.domId(h));
            }
            case DST_HELLO -> {
                long h = in.i64();
                byte[] header = in.bytes();
                SimCodec.message(out, m.onHello(h, header, in.bytes()));
                SimCodec.migrationId(out, m.id(h));
            }
            case DST_FINISH -> {
                long h = in.i64();
                m.onFinish(h, in.bytes());
            }
            case DST_ACCEPT_SEALED -> {
                long h = in.i64();
                var a = m.acceptSealed(h, in.view());
                out.i32(a.accepted()).i32(a.staleDropped());
            }
            case DST_MANIFEST -> {
                long h = in.i64();
                SimCodec.message(out, m.onManifest(h, in.bytes()));
            }
            case DST_RELEASE -> {
                long h = in.i64();
                SimCodec.message(out, m.onRelease(h, in.bytes()));
            }
            case DST_ABORT -> {
                long h = in.i64();
                ProtocolException.Reason r = SimCodec.enumOf(ProtocolException.Reason.values(), in.u8());
                SimCodec.message(out, m.abortDestination(h, r, in.str()));
            }
            case DST_ACCEPT_ABORT -> {
                long h = in.i64();
                m.acceptAbortAtDestination(h, in.bytes());
            }
            case SESSION_INFO -> SimCodec.decision(out, m.decision(in.i64()));
            case SESSION_LOOKUP -> {
                MigrationId id = SimCodec.migrationId(in);
                MigrationRole role = SimCodec.enumOf(MigrationRole.values(), in.u8());
                long h = m.lookup(id, role);
                out.i64(h).i32(m.domId(h));
            }
            case DECISIONS -> {
                List<MigrationDecision> all = hv.decisions();
                out.i32(all.size());
                for (MigrationDecision d : all) {
                    SimCodec.decision(out, d);
                }
            }
            case EXPORT_TOKEN -> {
                MigrationId id = SimCodec.migrationId(in);
                out.bytes(m.exportToken(id, SimCodec.enumOf(TokenKind.values(), in.u8())));
            }
            case IMPORT_TOKEN -> SimCodec.decision(out, m.importToken(in.bytes()));
            case IMPORT_FENCE -> {
                byte[] fence = in.bytes();
                SimCodec.decision(out, m.importFence(fence, in.bytes()));
            }
            case SIGN_ATTESTATION -> {
                MigrationId id = SimCodec.migrationId(in);
                SimCodec.attestation(out, hv.attestations.propose(id, in.bytes()));
            }
            case COUNTERSIGN_ATTESTATION -> {
                MigrationId id = SimCodec.migrationId(in);
                SimCodec.attestation(out, hv.attestations.countersign(id, in.bytes()));
            }
            case LOG_APPEND -> {
                long index = in.i64();
                byte[] prev = in.bytes();
                SimCodec.logHead(out, hv.appendLogEntry(index, prev, in.bytes()));
            }
            case LOG_SIGN_HEAD -> SimCodec.logHead(out, hv.signLogHead(in.bytes()));
            case PROTECTED_DIGEST -> out.bytes(hv.protectedMemoryDigest(in.i32()));
            default -> throw SimHypervisor.err(HypervisorException.Reason.INVALID_ARGUMENT, "unsupported call " + op);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (SocketChannel c : clients) {
            try {
                c.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // a stale socket file is replaced at the next start
        }
    }
}
