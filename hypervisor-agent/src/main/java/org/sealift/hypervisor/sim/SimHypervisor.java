package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.handshake.HandshakeConfig;
import org.sealift.protocol.handshake.HostCredentials;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.PolicyStore;
import org.sealift.protocol.pki.SignedPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated hypervisor of one host: domains, protected processes, identity and the sealed decision state. Every
 * request from dom0 arrives here through {@link HypervisorServer} and is checked here; nothing the agent says is
 * trusted. Decisions (lock, freeze, RELEASE, RESUMING, ABORT) are made under this object's monitor and sealed before
 * the hypervisor acts on them. Secure-migration sessions live in {@link Migrations}.
 */
public final class SimHypervisor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimHypervisor.class);
    /** A process's plaintext is one off-heap buffer (at most 2 GiB). */
    static final long MAX_PROCESS_PAGES = (Integer.MAX_VALUE / Domain.PAGE);

    final String hostId;
    final Hardware hardware;
    final SealedState state;
    final byte[] measurement;
    final boolean diagnostics;
    final Path memoryDir;
    final SecureRandom random = new SecureRandom();
    final Migrations migrations;
    final Attestations attestations;
    private final Map<Integer, Domain> domains = new HashMap<>();
    private final AtomicLong nextDomId = new AtomicLong(1);
    private PolicyStore policies;
    private final java.util.concurrent.ExecutorService flusher = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "sealed-state-flush");
                t.setDaemon(true);
                return t;
            });
    private boolean flushPending;

    private SimHypervisor(String hostId, Hardware hardware, SealedState state, byte[] measurement, boolean diagnostics,
            Path memoryDir) {
        this.hostId = hostId;
        this.hardware = hardware;
        this.state = state;
        this.measurement = measurement;
        this.diagnostics = diagnostics;
        this.memoryDir = memoryDir;
        this.migrations = new Migrations(this);
        this.attestations = new Attestations(this);
    }

    /**
     * Boots the hypervisor of host {@code hostId}: hardware (EK, keys, counter) in {@code hardwareDir}, sealed state
     * in {@code stateDir}, guest memory files in {@code memoryDir}. A boot is a fresh host: no domain survives a
     * hypervisor restart (their memory was RAM); only the sealed decisions do.
     */
    public static SimHypervisor boot(String hostId, Path stateDir, Path hardwareDir, Path memoryDir,
            Optional<Path> vendorDir, boolean diagnostics) throws IOException {
        Certificates.requireHostId(hostId);
        Hardware hw = Hardware.open(hardwareDir, hostId, vendorDir);
        try {
            SealedState st = SealedState.load(stateDir, hw);
            for (MigrationRecord r : st.migrations.values()) {
                r.domId = -1; // RAM did not survive the restart
            }
            // one memory directory per host instance: two test hosts may share a host id, never a state dir
            String instance = hostId + "-" + java.util.HexFormat.of().formatHex(Measurement.sha256()
                    .digest(stateDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8)), 0, 6);
            SimHypervisor h = new SimHypervisor(hostId, hw, st, Measurement.compute(diagnostics), diagnostics,
                    memoryDir.resolve(instance));
            h.restorePolicy();
            clearOldMemory(h.memoryDir);
            try {
                h.migrations.endLostHandshakes();
            } catch (HypervisorException e) {
                throw new IOException("host " + hostId + " cannot seal the end of its interrupted handshakes: "
                        + e.getMessage(), e);
            }
            if (st.historyLost) {
                LOG.warn("host {}: {}; migrations in doubt are neither resumed nor aborted", hostId, st.doubtReason);
            }
            return h;
        } catch (IOException | RuntimeException e) {
            hw.close();
            throw e;
        }
    }

    private static void clearOldMemory(Path dir) throws IOException {
        if (java.nio.file.Files.isDirectory(dir)) {
            try (var s = java.nio.file.Files.list(dir)) {
                for (Path p : s.toList()) {
                    String name = p.getFileName().toString();
                    if (name.endsWith(".mem") || name.endsWith(".sealed")) { // guest memory, sealed-page slots
                        java.nio.file.Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    private void restorePolicy() throws IOException {
        Optional<ClusterTrust> trust = hardware.trust();
        if (trust.isEmpty()) {
            return;
        }
        policies = new PolicyStore(trust.get(), hardware.policySerial());
        if (state.policy != null && state.policy.length > 0) {
            try {
                policies.accept(SignedPolicy.parse(state.policy), Instant.now());
            } catch (ProtocolException e) {
                LOG.warn("host {}: the stored policy is no longer accepted ({}); install a current one", hostId,
                        e.getMessage());
            }
        }
    }

    // ---- errors ----------------------------------------------------------------------------------------------

    static HypervisorException err(Reason r, String message) {
        return new HypervisorException(r, message);
    }

    static HypervisorException internal(String what, Exception e) {
        return new HypervisorException(Reason.INTERNAL, what + ": " + e.getMessage(), e);
    }

    // ---- identity --------------------------------------------------------------------------------------------

    public HostIdentity identity() throws HypervisorException {
        try {
            List<byte[]> ek = Certificates.encodeChain(hardware.endorsementKey().chain());
            List<byte[]> ak = Certificates.encodeChain(hardware.attestationChain());
            return new HostIdentity(hostId, measurement, Measurement.PROTECTION_MODULE_VERSION, ek, ak,
                    hardware.policySerial());
        } catch (IOException e) {
            throw internal("cannot read the identity of host " + hostId, e);
        }
    }

    /** AK CSR (signed inside by the AK) endorsed by the EK, in the pki library's PEM form. */
    public byte[] createEnrollmentRequest() throws HypervisorException {
        try {
            AkCsr csr = AkCsr.create(hardware.attestationKey(), hostId, measurement);
            return hardware.endorsementKey().endorse(csr).toPem().getBytes(StandardCharsets.US_ASCII);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } catch (IOException e) {
            throw internal("cannot create the AK enrollment request of host " + hostId, e);
        }
    }

    /** Pins the cluster trust (first install); a different cluster later is refused. */
    public synchronized void installClusterTrust(byte[] pem) throws HypervisorException {
        ClusterTrust trust;
        try {
            trust = ClusterTrust.fromPem(new String(pem, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw err(Reason.INVALID_ARGUMENT, "the cluster trust file is not valid PEM: " + e.getMessage()
                    + "; give the cluster-trust.pem that 'sealift ca init' wrote");
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
        try {
            Optional<ClusterTrust> pinned = hardware.trust();
            if (pinned.isPresent()) {
                if (Arrays.equals(Certificates.encode(pinned.get().caCertificate()),
                        Certificates.encode(trust.caCertificate()))
                        && Arrays.equals(Certificates.encode(pinned.get().policySignerCertificate()),
                                Certificates.encode(trust.policySignerCertificate()))) {
                    return;
                }
                throw err(Reason.REFUSED, "host " + hostId + " already trusts cluster " + pinned.get().describe()
                        + " and will not switch to " + trust.describe()
                        + ": a host joins one cluster; re-manufacture it (new --state-dir) to move it");
            }
            hardware.pinTrust(trust);
            policies = new PolicyStore(trust, hardware.policySerial());
        } catch (IOException e) {
            throw internal("cannot store the cluster trust of host " + hostId, e);
        }
    }

    public synchronized void installAttestationCertificate(List<byte[]> chainDer) throws HypervisorException {
        ClusterTrust trust = trust();
        try {
            List<X509Certificate> chain = Certificates.parseChain(chainDer);
            new HostCredentials(hardware.attestationKey(), chain, measurement);
            new AkValidator(trust).validateCertificate(chain, Instant.now());
            hardware.setAttestationChain(chain);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } catch (IOException e) {
            throw internal("cannot store the AK certificate of host " + hostId, e);
        }
    }

    public synchronized void installPolicy(byte[] signedPolicy) throws HypervisorException {
        trust();
        SignedPolicy sp = parsePolicy(signedPolicy);
        try {
            Policy p = policies.accept(sp, Instant.now());
            hardware.raisePolicySerial(p.serial());
            state.policy = sp.encoded();
            state.persist();
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } catch (IOException e) {
            throw internal("cannot store the policy on host " + hostId, e);
        }
    }

    static SignedPolicy parsePolicy(byte[] bytes) throws HypervisorException {
        try {
            String text = new String(bytes, StandardCharsets.US_ASCII);
            return text.contains("-----BEGIN") ? SignedPolicy.fromPem(text) : SignedPolicy.parse(bytes);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    synchronized ClusterTrust trust() throws HypervisorException {
        try {
            return hardware.trust().orElseThrow(() -> err(Reason.NOT_ENROLLED, "host " + hostId
                    + " trusts no cluster CA yet: install the cluster trust (cluster-trust.pem) first"));
        } catch (IOException e) {
            throw internal("cannot read the cluster trust of host " + hostId, e);
        }
    }

    synchronized PolicyStore policies() throws HypervisorException {
        trust();
        return policies;
    }

    AttestationSigner attestationKey() throws HypervisorException {
        try {
            return hardware.attestationKey();
        } catch (IOException e) {
            throw internal("cannot load the attestation key of host " + hostId, e);
        }
    }

    /** What the handshake needs: AK (as a signer), its certificate chain and the measurement. */
    HostCredentials credentials() throws HypervisorException {
        try {
            List<X509Certificate> chain = hardware.attestationChain();
            if (chain.isEmpty()) {
                throw err(Reason.NOT_ENROLLED, "host " + hostId + " has no attestation-key certificate: create an "
                        + "enrollment request, have the cluster CA sign it and install the certificate");
            }
            return new HostCredentials(hardware.attestationKey(), chain, measurement);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } catch (IOException e) {
            throw internal("cannot load the credentials of host " + hostId, e);
        }
    }

    HandshakeConfig handshakeConfig() throws HypervisorException {
        return HandshakeConfig.of(new AkValidator(trust()), policies());
    }

    // ---- domains ---------------------------------------------------------------------------------------------

    public DomainInfo createDomain(DomainConfig config) throws HypervisorException {
        return info(newDomain(config, true, DomainState.PAUSED));
    }

    /** Creates a domain; an INCOMING one stays empty until a migration fills it. */
    Domain newDomain(DomainConfig config, boolean populate, DomainState initial) throws HypervisorException {
        for (ProtectedProcessSpec p : config.protectedProcesses()) {
            if (p.pageCount() > MAX_PROCESS_PAGES) {
                throw err(Reason.INVALID_ARGUMENT, "protected process " + p.name() + " of VM " + config.name()
                        + " has " + p.pageCount() + " pages; the simulator protects at most " + MAX_PROCESS_PAGES
                        + " pages (2 GiB) per process: split it into several processes");
            }
        }
        synchronized (this) {
            for (Domain d : domains.values()) {
                if (d.config.name().equals(config.name())) {
                    throw err(Reason.ALREADY_EXISTS, "VM " + config.name() + " already exists on host " + hostId
                            + " as domain " + d.domId + ": destroy it or use another name");
                }
            }
        }
        int domId = (int) nextDomId.getAndIncrement();
        Domain d;
        try {
            d = Domain.create(domId, config, memoryDir, random, populate);
        } catch (IOException | OutOfMemoryError e) {
            throw err(Reason.INTERNAL, "cannot create VM " + config.name() + " (" + config.memoryMiB()
                    + " MiB) on host " + hostId + ": " + e.getMessage() + "; free memory or make the VM smaller");
        }
        synchronized (this) {
            for (Domain o : domains.values()) {
                if (o.config.name().equals(config.name())) {
                    d.destroy();
                    throw err(Reason.ALREADY_EXISTS, "VM " + config.name() + " already exists on host " + hostId);
                }
            }
            d.state = initial;
            domains.put(domId, d);
        }
        LOG.info("host {}: created domain {} ({}, {} MiB, {} protected pages, {})", hostId, domId, config.name(),
                config.memoryMiB(), config.protectedPageCount(), initial);
        return d;
    }

    synchronized Domain domain(int domId) throws HypervisorException {
        Domain d = domains.get(domId);
        if (d == null) {
            throw err(Reason.NOT_FOUND, "host " + hostId + " has no domain " + domId + ": list the domains to see "
                    + "which exist");
        }
        return d;
    }

    synchronized DomainInfo info(Domain d) {
        Optional<MigrationId> m = d.migration != null && d.migration.holdsLock() ? Optional.of(d.migration.id)
                : Optional.empty();
        return new DomainInfo(d.domId, d.config, d.state, d.dirtyLogging, m);
    }

    public DomainInfo domainInfo(int domId) throws HypervisorException {
        return info(domain(domId));
    }

    public synchronized List<DomainInfo> listDomains() {
        List<DomainInfo> out = new ArrayList<>();
        for (Domain d : domains.values()) {
            out.add(info(d));
        }
        out.sort((a, b) -> Integer.compare(a.domId(), b.domId()));
        return out;
    }

    public synchronized DomainInfo domainByName(String name) throws HypervisorException {
        for (Domain d : domains.values()) {
            if (d.config.name().equals(name)) {
                return info(d);
            }
        }
        throw err(Reason.NOT_FOUND, "host " + hostId + " has no VM named " + name);
    }

    public void destroyDomain(int domId) throws HypervisorException {
        Domain d;
        synchronized (this) {
            d = domain(domId);
            MigrationRecord m = d.migration;
            if (m != null && m.holdsLock() && !(m.role == MigrationRole.DESTINATION
                    && (m.state == MigrationState.HANDSHAKE || m.state == MigrationState.PRECOPY))) {
                throw err(Reason.REFUSED, "VM " + d.config.name() + " is in migration " + m.id + " (" + m.state
                        + "); it cannot be destroyed now: " + m.toDecision().detail());
            }
            if (m != null && m.holdsLock()) {
                migrations.abandonIncoming(d);
            }
            domains.remove(domId);
        }
        d.destroy();
        LOG.info("host {}: destroyed domain {} ({})", hostId, domId, d.config.name());
    }

    public void pause(int domId) throws HypervisorException {
        Domain d;
        synchronized (this) {
            d = domain(domId);
            if (d.state == DomainState.RUNNING) {
                d.state = DomainState.PAUSED;
                if (d.migration != null && d.migration.holdsLock() && d.migration.role == MigrationRole.SOURCE) {
                    d.migration.pauseMillis = System.currentTimeMillis();
                }
            }
        }
        d.workload.pause();
    }

    /** The checked resume (see HypervisorBackend#resume). */
    public void resume(int domId) throws HypervisorException {
        Domain d;
        synchronized (this) {
            d = domain(domId);
            checkStateFile();
            String vm = d.config.name();
            switch (d.state) {
                case RUNNING:
                    return;
                case INCOMING:
                    throw err(Reason.REFUSED, "VM " + vm + " on host " + hostId + " is the destination of migration "
                            + describe(d.migration) + " and runs only after a valid RELEASE from the source"
                            + " (or an imported RELEASE token or fence)");
                case RELEASED:
                    throw err(Reason.REFUSED, "VM " + vm + " was released to " + peer(d.migration) + " in migration "
                            + describe(d.migration) + ": it stays paused here until " + peer(d.migration)
                            + " confirms DONE; if that host is lost, import its ABORT token or a fence");
                case MIGRATED_AWAY:
                    throw err(Reason.REFUSED, "VM " + vm + " runs on " + peer(d.migration)
                            + " since migration " + describe(d.migration) + ": destroy this copy");
                case ZEROIZED:
                    throw err(Reason.REFUSED, "VM " + vm + " was zeroized when migration " + describe(d.migration)
                            + " aborted; it never runs here: destroy it");
                default:
                    break;
            }
            MigrationRecord m = d.migration;
            if (m != null && m.holdsLock()) {
                if (m.inDoubt) {
                    throw err(Reason.STATE_IN_DOUBT, "VM " + vm + " is in migration " + m.id
                            + " whose outcome this host cannot know (" + state.doubtReason
                            + "): import the peer's token or a fence");
                }
                if (m.role == MigrationRole.SOURCE && m.state == MigrationState.FROZEN) {
                    // the MANIFEST froze the processes: running them again means this migration is over
                    migrations.abortSourceLocally(m, ProtocolException.Reason.UNEXPECTED_RECORD,
                            "VM " + vm + " was resumed at the source after its MANIFEST was sealed");
                }
            }
            d.state = DomainState.RUNNING;
            if (m != null && m.role == MigrationRole.SOURCE && m.state.isFinal()) {
                m.resumeMillis = System.currentTimeMillis();
            }
        }
        d.workload.resume();
    }

    /** Before a decision-dependent step: a sealed state changed by dom0 is detected, counted and rewritten. */
    void checkStateFile() throws HypervisorException {
        try {
            if (!state.checkIntact()) {
                LOG.warn("host {}: the sealed state file was changed or deleted outside the hypervisor; "
                        + "rewritten from memory (detections: {})", hostId, state.tamperDetected);
            }
        } catch (IOException e) {
            throw internal("cannot check the sealed state of host " + hostId, e);
        }
    }

    static String describe(MigrationRecord m) {
        return m == null ? "(none)" : m.id.toString();
    }

    static String peer(MigrationRecord m) {
        return m == null || m.peerHostId == null ? "the other host" : m.peerHostId;
    }

    public synchronized void enableDirtyLogging(int domId) throws HypervisorException {
        domain(domId).setDirtyLogging(true);
    }

    public synchronized void disableDirtyLogging(int domId) throws HypervisorException {
        domain(domId).setDirtyLogging(false);
    }

    public PageBitmap readDirtyLog(int domId, boolean clean) throws HypervisorException {
        Domain d = domain(domId);
        if (!d.dirtyLogging) {
            throw err(Reason.REFUSED, "dirty logging is off for VM " + d.config.name() + ": enable it first");
        }
        return d.readDirty(clean);
    }

    public PageBitmap protectedPages(int domId) throws HypervisorException {
        return domain(domId).protectedBitmap();
    }

    /** The guest-kernel-visible context (a protected process's own registers are not in it: they travel sealed). */
    public byte[] vcpuContext(int domId, int vcpu) throws HypervisorException {
        Domain d = domain(domId);
        checkVcpu(d, vcpu);
        return d.kernelContext(vcpu);
    }

    public synchronized void setVcpuContext(int domId, int vcpu, byte[] context) throws HypervisorException {
        Domain d = domain(domId);
        checkVcpu(d, vcpu);
        if (d.state != DomainState.PAUSED && d.state != DomainState.INCOMING) {
            throw err(Reason.REFUSED, "VM " + d.config.name() + " is " + d.state + ": set vCPU contexts only on a "
                    + "paused or incoming VM");
        }
        if (context.length != Domain.KERNEL_CONTEXT_BYTES) {
            throw err(Reason.INVALID_ARGUMENT, "a vCPU context of the simulator is " + Domain.KERNEL_CONTEXT_BYTES
                    + " bytes, got " + context.length);
        }
        d.setKernelContext(vcpu, context);
    }

    private static void checkVcpu(Domain d, int vcpu) throws HypervisorException {
        if (vcpu < 0 || vcpu >= d.config.vcpus()) {
            throw err(Reason.INVALID_ARGUMENT, "VM " + d.config.name() + " has vCPUs 0.." + (d.config.vcpus() - 1)
                    + ", not " + vcpu);
        }
    }

    public byte[] exportProtectionMetadata(int domId) throws HypervisorException {
        Domain d = domain(domId);
        if (d.config.hasProtectedProcesses()) {
            throw err(Reason.PROTECTED_VM, "VM " + d.config.name() + " has protected processes ("
                    + d.config.protectedProcessNames() + "): their keys and page tables leave the hypervisor only "
                    + "sealed inside a secure migration's MANIFEST; use --mode secure");
        }
        return new byte[0];
    }

    static HypervisorException plainRefused(Domain d) {
        return err(Reason.PROTECTED_VM, "VM " + d.config.name() + " has protected processes ("
                + d.config.protectedProcessNames() + "): plain migration would expose them; use --mode secure");
    }

    public byte[] protectedMemoryDigest(int domId) throws HypervisorException {
        if (!diagnostics) {
            throw err(Reason.REFUSED, "host " + hostId + " runs without diagnostics: protected memory digests are "
                    + "only available on a hypervisor started with --diagnostics (a test configuration no production "
                    + "policy admits)");
        }
        Domain d = domain(domId);
        d.life.readLock().lock();
        try {
            return d.protectedDigest();
        } finally {
            d.life.readLock().unlock();
        }
    }

    /** Path and size of the guest memory file dom0 maps. */
    public synchronized Domain mapInfo(int domId) throws HypervisorException {
        return domain(domId);
    }

    // ---- the per-VM migration lock --------------------------------------------------------------------------

    /** Takes the VM's lock for a new migration record; LOCKED if another migration holds it. Caller holds this. */
    MigrationRecord lock(Domain d, MigrationId id, MigrationRole role, MigrationState initial)
            throws HypervisorException {
        checkStateFile();
        if (d.migration != null && d.migration.holdsLock()) {
            throw err(Reason.LOCKED, "VM " + d.config.name() + " is already in migration " + d.migration.id + " ("
                    + d.migration.state + "); one migration of a VM at a time: wait for it or abort it");
        }
        for (MigrationRecord r : state.migrations.values()) {
            if (r.vmName.equals(d.config.name()) && r.holdsLock() && r.inDoubt) {
                throw err(Reason.STATE_IN_DOUBT, "VM " + d.config.name() + " has migration " + r.id
                        + " in doubt on host " + hostId + ": resolve it with the peer's token or a fence first");
            }
        }
        MigrationRecord r = new MigrationRecord(id, role, d.config.name(), d.domId, initial);
        r.startMillis = System.currentTimeMillis();
        d.migration = r;
        state.migrations.put(id, r);
        return r;
    }

    /**
     * Seals the state soon, off the caller's path: for steps whose durability no decision depends on (READY at the
     * destination: after a crash its copy is gone and PRECOPY allows the same ABORT; COMMITTED at the source after
     * DONE, which the destination re-serves). Caller holds this.
     */
    void persistLater() {
        if (!flushPending) {
            flushPending = true;
            flusher.execute(() -> {
                synchronized (this) {
                    flushPending = false;
                    try {
                        state.persist();
                    } catch (IOException e) {
                        LOG.error("host {}: cannot seal the decision state: {}", hostId, e.getMessage());
                    }
                }
            });
        }
    }

    void persist() throws HypervisorException {
        try {
            state.persist();
        } catch (IOException e) {
            throw internal("cannot seal the decision state of host " + hostId + " (nothing was decided)", e);
        }
    }

    synchronized Domain domainOf(MigrationRecord r) {
        Domain d = domains.get(r.domId);
        return d != null && d.migration == r ? d : null;
    }

    // ---- recovery --------------------------------------------------------------------------------------------

    public synchronized List<MigrationDecision> decisions() {
        List<MigrationDecision> out = new ArrayList<>();
        for (MigrationRecord r : state.migrations.values()) {
            out.add(0, r.toDecision());
        }
        return out;
    }

    synchronized MigrationRecord record(MigrationId id) throws HypervisorException {
        MigrationRecord r = state.migrations.get(id);
        if (r == null) {
            if (state.historyLost) {
                throw err(Reason.STATE_IN_DOUBT, "host " + hostId + " does not know migration " + id + " and cannot "
                        + "rule out that it took part in it (" + state.doubtReason + "): it neither resumes nor "
                        + "aborts it; use the peer's token or an operator's fence");
            }
            throw err(Reason.NOT_FOUND, "host " + hostId + " has no migration " + id);
        }
        return r;
    }

    // ---- attestation log ------------------------------------------------------------------------------------

    public synchronized LogHead appendLogEntry(long index, byte[] previousHash, byte[] recordBytes)
            throws HypervisorException {
        if (index != state.logSize) {
            throw err(Reason.REFUSED, "log entry " + index + " does not follow the log head of host " + hostId
                    + " (" + state.logSize + " entries): append entries in order, without gaps");
        }
        if (!Arrays.equals(previousHash, state.logHead)) {
            throw err(Reason.REFUSED, "log entry " + index + " names a previous hash that is not the head hash host "
                    + hostId + " recorded: the log file was changed");
        }
        byte[] hash = new org.sealift.protocol.attest.LogEntry(index, previousHash, recordBytes).hash();
        state.logSize = index + 1;
        state.logHead = hash;
        persist();
        try {
            return new LogHead(state.logSize, hash, state.counter(), new byte[0], new byte[0], new byte[0]);
        } catch (IOException e) {
            throw internal("cannot read the counter of host " + hostId, e);
        }
    }

    public synchronized LogHead signLogHead(byte[] nonce) throws HypervisorException {
        if (nonce.length != SignedHead.NONCE_BYTES) {
            throw err(Reason.INVALID_ARGUMENT, "a verifier nonce is " + SignedHead.NONCE_BYTES + " bytes, got "
                    + nonce.length);
        }
        try {
            long counter = state.counter();
            SignedHead h = SignedHead.sign(attestationKey(), hostId, state.logSize, state.logHead, counter, nonce);
            byte[] enc = h.encoded();
            byte[] sig = Arrays.copyOfRange(enc, enc.length - SignedHead.SIGNATURE_BYTES, enc.length);
            return new LogHead(state.logSize, state.logHead, counter, nonce, h.signedMessage(), sig);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        } catch (IOException e) {
            throw internal("cannot read the counter of host " + hostId, e);
        }
    }

    synchronized long tamperDetections() {
        return state.tamperDetected;
    }

    @Override
    public void close() {
        List<Domain> all;
        synchronized (this) {
            all = new ArrayList<>(domains.values());
            domains.clear();
        }
        for (Domain d : all) {
            d.destroy();
        }
        SourceSealing.SpareSlots.discard(memoryDir);
        Domain.awaitReleases(); // destroyed domains free their memory in the background: done before exit
        migrations.close();
        flusher.shutdown();
        try {
            flusher.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        hardware.close();
        try {
            java.nio.file.Files.deleteIfExists(memoryDir); // empty once every domain is gone
        } catch (IOException e) {
            // a leftover directory is reused by the next boot of this host
        }
    }

    /** For messages: "vault, keys". */
    static String names(List<ProtectedProcessSpec> specs) {
        List<String> n = new ArrayList<>();
        for (ProtectedProcessSpec s : specs) {
            n.add(s.name());
        }
        return String.join(", ", n);
    }
}
