package org.sealift.agent.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;

/**
 * A test double of a hypervisor for the engine's plain path only: guest memory in a direct buffer, a dirty log, a
 * writer thread playing the guest's working set, pause and resume. It lets the engine's round loop, batching and
 * stop conditions be tested in one process; everything about protection is tested against the simulated
 * hypervisor process instead, so the secure calls here refuse.
 */
final class InProcessPlainHost implements HypervisorBackend {

    final class Dom {
        final int id;
        final DomainConfig config;
        final ByteBuffer memory;
        final long[] dirty;
        volatile DomainState state = DomainState.PAUSED;
        volatile boolean logging;
        final Map<Integer, byte[]> vcpus = new ConcurrentHashMap<>();
        Thread guest;
        boolean locked;
        /** Memory as it was when the domain last resumed (the guest changes it right after). */
        volatile ByteBuffer imageAtResume;

        Dom(int id, DomainConfig config) {
            this.id = id;
            this.config = config;
            this.memory = ByteBuffer.allocateDirect(Math.toIntExact(config.pageCount() * 4096));
            this.dirty = new long[PageBitmap.wordsFor(config.pageCount())];
        }

        /** The guest writes a counter into random pages of its working set while it runs. */
        void startGuest() {
            long wws = config.workload().normalWorkingSetPages();
            long rate = config.workload().normalDirtyPagesPerSecond();
            if (wws == 0 || rate == 0) {
                return;
            }
            guest = new Thread(() -> {
                Random r = new Random(config.workload().seed());
                long n = 0;
                while (state == DomainState.RUNNING) {
                    for (int i = 0; i < Math.max(1, rate / 1000) && state == DomainState.RUNNING; i++) {
                        long pfn = Math.floorMod(r.nextLong(), wws);
                        synchronized (this) {
                            memory.putLong((int) (pfn * 4096 + 8 * (n % 512)), ++n);
                            dirty[(int) (pfn >>> 6)] |= 1L << pfn;
                        }
                    }
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "guest-" + config.name());
            guest.setDaemon(true);
            guest.start();
        }

        void stopGuest() {
            state = state == DomainState.RUNNING ? DomainState.PAUSED : state;
            Thread g = guest;
            if (g != null) {
                try {
                    g.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            guest = null;
        }
    }

    private final Map<Integer, Dom> domains = new ConcurrentHashMap<>();
    /** Destination hosts leave new domains empty (the migration fills them) and keep an image at resume. */
    volatile boolean fillOnCreate = true;
    volatile boolean imageOnResume = true;
    private final AtomicInteger nextId = new AtomicInteger(1);

    Dom dom(int id) throws HypervisorException {
        Dom d = domains.get(id);
        if (d == null) {
            throw new HypervisorException(HypervisorException.Reason.NOT_FOUND, "no domain " + id);
        }
        return d;
    }

    /** Creates a domain whose normal memory is filled with a seeded pattern (the given share of pages non-zero). */
    @Override
    public DomainInfo createDomain(DomainConfig config) {
        Dom d = new Dom(nextId.getAndIncrement(), config);
        Random r = new Random(config.workload().seed());
        for (long p = 0; p < config.pageCount() && fillOnCreate; p++) {
            if (r.nextInt(100) < config.workload().fillPercent()) {
                for (int o = 0; o < 4096; o += 8) {
                    d.memory.putLong((int) (p * 4096 + o), r.nextLong());
                }
            }
        }
        for (int v = 0; v < config.vcpus(); v++) {
            byte[] ctx = new byte[512];
            r.nextBytes(ctx);
            d.vcpus.put(v, ctx);
        }
        domains.put(d.id, d);
        return info(d);
    }

    private DomainInfo info(Dom d) {
        return new DomainInfo(d.id, d.config, d.state, d.logging, Optional.empty());
    }

    @Override
    public void destroyDomain(int domId) throws HypervisorException {
        Dom d = dom(domId);
        d.stopGuest();
        domains.remove(domId);
    }

    @Override
    public List<DomainInfo> listDomains() {
        List<DomainInfo> l = new ArrayList<>();
        domains.values().forEach(d -> l.add(info(d)));
        return l;
    }

    @Override
    public DomainInfo domainInfo(int domId) throws HypervisorException {
        return info(dom(domId));
    }

    @Override
    public DomainInfo domainByName(String name) throws HypervisorException {
        for (Dom d : domains.values()) {
            if (d.config.name().equals(name)) {
                return info(d);
            }
        }
        throw new HypervisorException(HypervisorException.Reason.NOT_FOUND, "no domain " + name);
    }

    @Override
    public void pause(int domId) throws HypervisorException {
        dom(domId).stopGuest();
    }

    @Override
    public void resume(int domId) throws HypervisorException {
        Dom d = dom(domId);
        if (d.state == DomainState.MIGRATED_AWAY) {
            throw new HypervisorException(HypervisorException.Reason.REFUSED, "domain migrated away");
        }
        if (imageOnResume) {
            ByteBuffer image = ByteBuffer.allocate(d.memory.capacity());
            image.put(d.memory.duplicate().clear()).flip();
            d.imageAtResume = image;
        }
        d.state = DomainState.RUNNING;
        d.startGuest();
    }

    @Override
    public void enableDirtyLogging(int domId) throws HypervisorException {
        dom(domId).logging = true;
    }

    @Override
    public void disableDirtyLogging(int domId) throws HypervisorException {
        dom(domId).logging = false;
    }

    @Override
    public PageBitmap readDirtyLog(int domId, boolean clean) throws HypervisorException {
        Dom d = dom(domId);
        synchronized (d) {
            PageBitmap b = new PageBitmap(d.config.pageCount(), d.dirty);
            if (clean) {
                java.util.Arrays.fill(d.dirty, 0);
            }
            return b;
        }
    }

    @Override
    public GuestMemory mapGuestMemory(int domId, boolean writable) throws HypervisorException {
        Dom d = dom(domId);
        return new GuestMemory() {
            @Override
            public long pageCount() {
                return d.config.pageCount();
            }

            @Override
            public boolean writable() {
                return writable;
            }

            @Override
            public void read(long pfn, int count, ByteBuffer dst) {
                dst.put(d.memory.slice((int) pfn * 4096, count * 4096));
            }

            @Override
            public void write(long pfn, int count, ByteBuffer src) {
                d.memory.put((int) pfn * 4096, src, src.position(), count * 4096);
                src.position(src.position() + count * 4096);
            }

            @Override
            public ByteBuffer slice(long pfn, int count) {
                ByteBuffer s = d.memory.slice((int) pfn * 4096, count * 4096);
                return writable ? s : s.asReadOnlyBuffer();
            }

            @Override
            public int maxSlicePages() {
                return 1 << 16;
            }

            @Override
            public boolean isZero(long pfn) {
                return Pages.isZero(d.memory, pfn * 4096);
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public PageBitmap protectedPages(int domId) throws HypervisorException {
        return new PageBitmap(dom(domId).config.pageCount(), new long[PageBitmap.wordsFor(dom(domId).config.pageCount())]);
    }

    @Override
    public byte[] vcpuContext(int domId, int vcpu) throws HypervisorException {
        return dom(domId).vcpus.get(vcpu).clone();
    }

    @Override
    public void setVcpuContext(int domId, int vcpu, byte[] context) throws HypervisorException {
        dom(domId).vcpus.put(vcpu, context.clone());
    }

    @Override
    public byte[] exportProtectionMetadata(int domId) {
        return new byte[0];
    }

    @Override
    public PlainMigration beginPlainMigration(int domId) throws HypervisorException {
        Dom d = dom(domId);
        synchronized (d) {
            if (d.locked) {
                throw new HypervisorException(HypervisorException.Reason.LOCKED, "already migrating");
            }
            d.locked = true;
        }
        MigrationId id = MigrationId.of(new byte[16]);
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
            public void finish(boolean committed) {
                d.locked = false;
                if (committed) {
                    d.state = DomainState.MIGRATED_AWAY;
                }
            }
        };
    }

    private static HypervisorException secureOnly() {
        return new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT,
                "this in-process test host plays only plain migrations; use the simulated hypervisor for secure ones");
    }

    @Override
    public HostIdentity identity() throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public byte[] createEnrollmentRequest() throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public void installAttestationCertificate(List<byte[]> chainDer) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public void installPolicy(byte[] signedPolicy) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public SourceSession beginSecureSource(SourceRequest request) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public DestinationSession openSecureDestination(DestinationRequest request) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public SourceSession sourceSession(MigrationId id) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public DestinationSession destinationSession(MigrationId id) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public List<MigrationDecision> decisions() {
        return List.of();
    }

    @Override
    public byte[] exportToken(MigrationId id, TokenKind kind) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public MigrationDecision importToken(byte[] token) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public MigrationDecision importFence(byte[] fence, byte[] newPolicy) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public SignedAttestation signAttestation(MigrationId id, byte[] agentStatistics) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public SignedAttestation countersignAttestation(MigrationId id, byte[] proposedRecord) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public void installClusterTrust(byte[] clusterTrustPem) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public LogHead appendLogEntry(long index, byte[] previousHash, byte[] encodedEntry) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public LogHead signLogHead(byte[] verifierNonce) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public byte[] protectedMemoryDigest(int domId) throws HypervisorException {
        throw secureOnly();
    }

    @Override
    public void close() {
        domains.values().forEach(Dom::stopGuest);
    }
}
