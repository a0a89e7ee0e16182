package org.sealift.agent.xen;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Pattern;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.PlainMigrationFacts;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;

/**
 * The {@link HypervisorBackend} of a real Xen host: every call goes through JNA to libsealift-xen (native/xen-shim),
 * which drives libxenctrl, libxenforeignmemory, libxencall and libxenlight. A shim call that returns -errno becomes a
 * {@link XenException} carrying the shim's {@code slx_last_error()} text. {@link #open()} on a machine without Xen
 * fails at once with a message starting "Xen privcmd interface not available: " that names the fix.
 *
 * <h2>What Xen gives, and how it maps</h2>
 * <ul>
 * <li>Domains: info, list, name, create (paused, from a libxl JSON configuration built from the DomainConfig and the
 * operator's template, see {@link Options}), destroy, pause, unpause. Domain 0 (the agent's own) is not listed.</li>
 * <li>A domain's memory is its RAM ({@code XenShim.DomainInfo#ramPages}): for PV the dense p2m up to
 * {@code max_gpfn}; for PVH/HVM the domain's allocation in whole MiB from gfn 0, since libxl puts a PVH guest's
 * special pages (console and xenstore rings) just below 4 GiB and {@code max_gpfn + 1} would span a 4 GiB hole.
 * Mappings and the dirty bitmaps handed to the engine cover that RAM; the special pages are libxl's to recreate at a
 * destination. Workload and protected processes are not visible through Xen and are reported as idle and none.</li>
 * <li>Dirty logging: Xen's log-dirty mode, PEEK and CLEAN; the bitmaps are converted to {@link PageBitmap} words.
 * The pre-copy lesson of native/README.md (the last live CLEAN's pages must be OR-ed with the CLEAN after the pause)
 * is the engine's to apply; this class returns exactly what each CLEAN returned.</li>
 * <li>Memory: foreign mappings in chunks ({@link XenGuestMemory}).</li>
 * <li>vCPU state: {@link #vcpuContext} returns a register block ({@link XenVcpuBlock}) holding Xen's
 * vcpu_guest_context and, for vCPU 0 of an HVM/PVH domain, the domain's HVM save records.</li>
 * <li>Protection metadata: Sealift's domctl through libxencall ({@link #protectionMetadataSize},
 * {@link #exportProtectionMetadata}, {@link #importProtectionMetadata}). On an unpatched Xen it answers ENOSYS and
 * the XenException says so ({@link XenException#unsupported()}); only plain-mode migration of VMs without protected
 * processes is possible then.</li>
 * </ul>
 *
 * <h2>What this backend refuses, and why</h2>
 * Everything that needs Sealift's protection module <em>inside</em> the hypervisor beyond the metadata domctl fails
 * with {@code REFUSED} and a message saying so, rather than being emulated in dom0 (which the threat model does not
 * trust): host identity, measurement and attestation key ({@link #identity}, {@link #createEnrollmentRequest},
 * certificate, cluster-trust and policy installation), secure migrations and their sessions, commit tokens and
 * fences, attestation signatures and the signed log head, and the diagnostics digest. The shim has no call for any of
 * these, and on an unpatched Xen there is nothing in the hypervisor that could hold an attestation key.
 * Creating a domain with protected processes is refused for the same reason.
 *
 * <h2>The dom0-held record signer (unpatched Xen only)</h2>
 * With {@link #withDom0Signer} (the agent daemon sets it on a Xen without the protection module), the identity, the
 * enrollment request, certificate, trust and policy installation, the records of <em>plain</em> migrations and the
 * log head are served by {@link Dom0RecordSigner}: a key the agent keeps in dom0, certified only as a
 * {@code dom0-signer} (never as an AK), whose records verifiers mark as "records what the agents did, not what a
 * hypervisor enforced". Secure migrations, tokens, fences and protected processes stay refused.
 *
 * <h2>Agent-side state</h2>
 * Xen has no per-VM migration lock, no "migrated away" mark and no record of who enabled log-dirty mode. For plain
 * migrations (no protected state at stake) this backend keeps them itself, per backend instance: the lock of
 * {@link #beginPlainMigration}, the MIGRATED_AWAY state after a committed one (resume refused, destroy allowed), and
 * the dirty-logging flag of {@link DomainInfo}. {@link #decisions()} lists the plain migrations in progress; nothing
 * survives an agent restart, and nothing needs to: a plain migration interrupted by a crash leaves the source paused
 * with its memory intact.
 *
 * <h2>Limits</h2>
 * A chunk of guest memory that contains a frame Xen cannot map fails with the shim's message instead of being mapped
 * partially. An HVM/PVH guest whose frames reach above 4 GiB (RAM split around the MMIO hole) is refused for plain
 * migration, since only the RAM from gfn 0 would move; HVM guests with a VGA hole are not handled (they also need a
 * device model, which the test hosts do not have). Thread-safe: control calls on one domain are serialised (the shim asks callers to), everything else runs
 * concurrently; {@link #close()} frees the shim handle only after every open memory map is closed.
 */
public final class XenBackend implements HypervisorBackend {

    /** How every "this machine cannot drive Xen" message begins. */
    public static final String UNAVAILABLE_PREFIX = XenShimLoader.UNAVAILABLE;

    private static final Pattern DOMAIN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final int MAX_DOMAINS = 32_768;

    /**
     * How to reach and configure Xen: the agent's {@code xen.*} settings (docs/agent-config.md).
     *
     * @param library     {@code xen.library}: the shim file; empty = found by name (jna.library.path, then the
     *                    system's library paths)
     * @param domainType  {@code xen.domain-type}: libxl's c_info.type for created domains (pvh, hvm or pv)
     * @param template    {@code xen.template}: a libxl JSON configuration ({@code xl -N create cfg}) supplying the
     *                    kernel, disks and network of created domains; name, memory and vCPUs are always Sealift's
     * @param kernel      {@code xen.kernel}: b_info.kernel of created domains (overrides the template's)
     * @param cmdline     {@code xen.cmdline}: b_info.cmdline of created domains (overrides the template's)
     */
    public record Options(Optional<Path> library, String domainType, Optional<Path> template, Optional<String> kernel,
            Optional<String> cmdline) {

        public static final String DEFAULT_DOMAIN_TYPE = "pvh";

        public Options {
            library = library == null ? Optional.empty() : library;
            template = template == null ? Optional.empty() : template;
            kernel = kernel == null ? Optional.empty() : kernel;
            cmdline = cmdline == null ? Optional.empty() : cmdline;
            if (domainType == null) {
                domainType = DEFAULT_DOMAIN_TYPE;
            }
            if (!List.of("pvh", "hvm", "pv").contains(domainType)) {
                throw new IllegalArgumentException("xen.domain-type '" + domainType + "' is unknown: use pvh, hvm or pv");
            }
        }

        public static Options defaults() {
            return new Options(Optional.empty(), DEFAULT_DOMAIN_TYPE, Optional.empty(), Optional.empty(),
                    Optional.empty());
        }

        /** From the agent's backend settings ({@code xen.library}, {@code xen.domain-type}, ...); unknown keys fail. */
        public static Options fromSettings(Map<String, String> settings) {
            Options o = defaults();
            for (Map.Entry<String, String> e : settings.entrySet()) {
                String v = e.getValue().trim();
                switch (e.getKey()) {
                    case "xen.library" -> o = o.withLibrary(Path.of(v));
                    case "xen.domain-type" -> o = new Options(o.library, v.toLowerCase(Locale.ROOT), o.template,
                            o.kernel, o.cmdline);
                    case "xen.template" -> o = new Options(o.library, o.domainType, Optional.of(Path.of(v)), o.kernel,
                            o.cmdline);
                    case "xen.kernel" -> o = new Options(o.library, o.domainType, o.template, Optional.of(v),
                            o.cmdline);
                    case "xen.cmdline" -> o = new Options(o.library, o.domainType, o.template, o.kernel,
                            Optional.of(v));
                    default -> throw new IllegalArgumentException("setting " + e.getKey() + " is unknown to the xen"
                            + " backend; use xen.library, xen.domain-type, xen.template, xen.kernel or xen.cmdline");
                }
            }
            return o;
        }

        public Options withLibrary(Path shim) {
            return new Options(Optional.of(shim), domainType, template, kernel, cmdline);
        }

        boolean domainTypeSet() {
            return !DEFAULT_DOMAIN_TYPE.equals(domainType);
        }
    }

    /** What this agent knows about a domain that Xen does not record. */
    private static final class Local {
        volatile boolean dirtyLogging;
        volatile MigrationId plainMigration;
        volatile boolean migratedAway;
        /** When this agent last unpaused the domain (a destination's resume), for its dom0-signed record. */
        volatile long resumedAtMillis;
    }

    private final XenShim shim;
    private final Pointer handle;
    private final Options options;
    private final int vcpuContextSize;
    private final ConcurrentHashMap<Integer, Local> locals = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    /** Serialises creation, so the duplicate-name check and the create cannot interleave. */
    private final Object createLock = new Object();
    /** Calls hold it shared; close() takes it exclusively, so no call runs on a freed handle. */
    private final ReentrantReadWriteLock handleLock = new ReentrantReadWriteLock();
    /** 1 for the backend itself + 1 per open memory map; the handle is freed at 0. */
    private int references = 1;
    private boolean closed;
    private volatile Boolean protmetaSupported;
    /** Set by {@link #withDom0Signer}: the stand-in for an AK on an unpatched Xen; null = none. */
    private volatile Dom0RecordSigner dom0Signer;
    /** Start and pause times of this host's plain migrations as source (ms), for their dom0-signed records. */
    private final ConcurrentHashMap<MigrationId, long[]> plainTimes = new ConcurrentHashMap<>();

    private XenBackend(XenShim shim, Pointer handle, Options options) {
        this.shim = shim;
        this.handle = handle;
        this.options = options;
        this.vcpuContextSize = shim.slx_vcpu_context_size();
    }

    /** Opens the local Xen host with {@link Options#defaults()}. */
    public static XenBackend open() throws HypervisorException {
        return open(Options.defaults());
    }

    /**
     * Loads the shim and opens Xen's interfaces. On a machine that is not a Xen dom0 (no /dev/xen/privcmd, missing
     * libraries, not root) it fails promptly with {@code UNAVAILABLE} and a message starting with
     * {@link #UNAVAILABLE_PREFIX} that names what is missing and how to fix it.
     */
    public static XenBackend open(Options options) throws HypervisorException {
        XenShim shim = XenShimLoader.load(options.library());
        PointerByReference out = new PointerByReference();
        int rc = shim.slx_open(out);
        if (rc != 0) {
            throw XenShimLoader.openFailed(-rc, shim.slx_last_error());
        }
        return new XenBackend(shim, out.getValue(), options);
    }

    /**
     * Gives this backend a dom0-held record signer ({@link Dom0RecordSigner}: key in {@code dataDir/dom0-signer},
     * peers' certificates from {@code credentialsDir/dom0-signers.pem}). Only for a Xen whose hypervisor cannot hold
     * an attestation key: with it the enrollment request, identity, plain-migration records and the log head are
     * signed in dom0 and say so; everything that needs an AK (secure mode, tokens, fences) stays refused.
     */
    public XenBackend withDom0Signer(String hostId, Path dataDir, Path credentialsDir) throws HypervisorException {
        if (protectionSupported()) {
            throw new HypervisorException(Reason.REFUSED, "this Xen answers the protection-metadata domctl: its"
                    + " hypervisor is to hold the attestation key, so no dom0-held signer stands in for it");
        }
        dom0Signer = Dom0RecordSigner.open(hostId, dataDir, credentialsDir);
        return this;
    }

    /**
     * Writes host {@code hostId}'s dom0 signer key into {@code dataDir} (once) and returns its enrollment request, as
     * {@code sealift agent --enrollment-request} does on the host, without opening Xen: for tools that provision an
     * agent's data directory elsewhere (the Xen stage's payload builder, native/xen-testhost/cluster).
     */
    public static byte[] dom0SignerRequest(String hostId, Path dataDir) throws HypervisorException {
        return Dom0RecordSigner.open(hostId, dataDir, dataDir).enrollmentRequest();
    }

    private Dom0RecordSigner signer(String what) throws HypervisorException {
        Dom0RecordSigner s = dom0Signer;
        if (s == null) {
            throw needsProtectionModule(what);
        }
        return s;
    }

    // ---- plumbing ---------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface ShimCall {
        int call(Pointer h);
    }

    /** Runs a shim call on the open handle; -errno → XenException with the shim's text (read on this thread). */
    private void call(String function, ShimCall c) throws HypervisorException {
        handleLock.readLock().lock();
        try {
            if (closed) {
                throw new HypervisorException(Reason.UNAVAILABLE, "the Xen backend is closed; open a new one");
            }
            int rc = c.call(handle);
            if (rc != 0) {
                int errno = rc < 0 ? -rc : XenException.EIO;
                String text = shim.slx_last_error();
                throw new XenException(XenException.reasonOf(errno), function, errno,
                        text == null || text.isEmpty() ? function + " failed with errno " + errno : text);
            }
        } finally {
            handleLock.readLock().unlock();
        }
    }

    private Local local(int domId) {
        return locals.computeIfAbsent(domId, id -> new Local());
    }

    /** Serialises control calls per domain, as the shim's contract asks. */
    private Object domainLock(int domId) {
        return local(domId);
    }

    XenShim.DomainInfo rawInfo(int domId) throws HypervisorException {
        XenShim.DomainInfo info = new XenShim.DomainInfo();
        call("slx_domain_info_get", h -> shim.slx_domain_info_get(h, domId, info));
        return info;
    }

    /** The libxl name of a domain, or "domain-N" when it has none that a DomainConfig accepts. */
    private String name(int domId) throws HypervisorException {
        byte[] buf = new byte[256];
        try {
            call("slx_domain_name", h -> shim.slx_domain_name(h, domId, buf, buf.length));
        } catch (XenException e) {
            if (e.errno() == XenException.ESRCH) {
                // a domain created without libxl has no name; whether it exists at all is rawInfo's to say
                return "domain-" + domId;
            }
            throw e;
        }
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        String s = new String(buf, 0, n, StandardCharsets.UTF_8);
        return DOMAIN_NAME.matcher(s).matches() ? s : "domain-" + domId;
    }

    private static long memoryMiB(long pages) {
        long mib = (pages + WorkloadSpec.PAGES_PER_MIB - 1) / WorkloadSpec.PAGES_PER_MIB;
        return Math.max(1, Math.min(DomainConfig.MAX_MEMORY_MIB, mib));
    }

    private DomainInfo info(int domId, XenShim.DomainInfo raw, String name) {
        int vcpus = Math.max(1, Math.min(DomainConfig.MAX_VCPUS, raw.max_vcpu_id + 1));
        DomainConfig config = new DomainConfig(name, (int) memoryMiB(raw.ramPages()), vcpus, List.of(),
                WorkloadSpec.idle(0));
        Local l = locals.get(domId);
        DomainState state;
        if (l != null && l.migratedAway) {
            state = DomainState.MIGRATED_AWAY;
        } else if ((raw.flags & (XenShim.DOMINFO_PAUSED | XenShim.DOMINFO_SHUTDOWN | XenShim.DOMINFO_DYING)) != 0) {
            state = DomainState.PAUSED;
        } else {
            state = DomainState.RUNNING;
        }
        return new DomainInfo(domId, config, state, l != null && l.dirtyLogging,
                Optional.ofNullable(l == null ? null : l.plainMigration));
    }

    private static boolean paused(XenShim.DomainInfo raw) {
        return (raw.flags & XenShim.DOMINFO_PAUSED) != 0;
    }

    // ---- domains ----------------------------------------------------------------------------------------------

    @Override
    public DomainInfo createDomain(DomainConfig config) throws HypervisorException {
        if (config.hasProtectedProcesses()) {
            throw new HypervisorException(Reason.REFUSED, "VM " + config.name() + " asks for protected processes ("
                    + config.protectedProcessNames() + "), which the Xen backend cannot create: their keys and page"
                    + " tracking live in Sealift's protection module inside the hypervisor, and the shim reaches that"
                    + " module only through the protection-metadata domctl; create the VM without protected"
                    + " processes, or use the sim backend");
        }
        String json = LibxlConfig.toJson(config, options);
        synchronized (createLock) {
            for (DomainInfo d : listDomains()) {
                if (d.name().equals(config.name())) {
                    throw new HypervisorException(Reason.ALREADY_EXISTS, "a domain named " + config.name()
                            + " already exists on this Xen host (domain " + d.domId() + "); pick another name or"
                            + " destroy it first");
                }
            }
            IntByReference id = new IntByReference();
            call("slx_domain_create", h -> shim.slx_domain_create(h, json, id));
            int domId = id.getValue();
            locals.remove(domId); // Xen may reuse an id after a long time; nothing of an old domain applies
            return domainInfo(domId);
        }
    }

    @Override
    public void destroyDomain(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            Local l = local(domId);
            MigrationId m = l.plainMigration;
            if (m != null) {
                throw new HypervisorException(Reason.LOCKED, "domain " + domId + " is being migrated (plain migration "
                        + m + "); finish or abort that migration before destroying the domain");
            }
            call("slx_domain_destroy", h -> shim.slx_domain_destroy(h, domId));
            locals.remove(domId);
        }
    }

    @Override
    public List<DomainInfo> listDomains() throws HypervisorException {
        int[] ids = new int[MAX_DOMAINS];
        IntByReference count = new IntByReference();
        call("slx_domain_list", h -> shim.slx_domain_list(h, ids, ids.length, count));
        List<DomainInfo> out = new ArrayList<>();
        for (int i = 0; i < count.getValue(); i++) {
            if (ids[i] == 0) {
                continue; // dom0 runs the agent itself: never migrated, never listed
            }
            try {
                out.add(domainInfo(ids[i]));
            } catch (XenException e) {
                if (e.errno() != XenException.ESRCH) {
                    throw e;
                }
                // destroyed between the list and its info
            }
        }
        return out;
    }

    @Override
    public DomainInfo domainInfo(int domId) throws HypervisorException {
        XenShim.DomainInfo raw = rawInfo(domId);
        return info(domId, raw, name(domId));
    }

    /**
     * CPU time Xen has accounted to the domain's vCPUs, in nanoseconds: 0 for a domain whose vCPUs never ran (libxl
     * creates domains paused), which is how the real-Xen tests see that an incoming domain stayed paused.
     */
    public long cpuTimeNanos(int domId) throws HypervisorException {
        return rawInfo(domId).cpu_time_ns;
    }

    @Override
    public DomainInfo domainByName(String name) throws HypervisorException {
        for (DomainInfo d : listDomains()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new HypervisorException(Reason.NOT_FOUND, "no domain named " + name + " on this Xen host (`xl list`"
                + " shows the domains)");
    }

    /** Pauses once: a domain already paused (by this agent or at creation) stays paused with one pause. */
    @Override
    public void pause(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            if (!paused(rawInfo(domId))) {
                call("slx_domain_pause", h -> shim.slx_domain_pause(h, domId));
            }
            MigrationId plain = local(domId).plainMigration;
            long[] t = plain == null ? null : plainTimes.get(plain);
            if (t != null && t[1] == 0) {
                t[1] = System.currentTimeMillis();
            }
        }
    }

    /** Unpauses a paused domain (a running one stays as it is); refused after a committed plain migration. */
    @Override
    public void resume(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            if (local(domId).migratedAway) {
                throw new HypervisorException(Reason.REFUSED, "domain " + domId + " was migrated away (its plain"
                        + " migration committed and the VM runs at the destination): resuming it here would run two"
                        + " copies; destroy it");
            }
            if (paused(rawInfo(domId))) {
                call("slx_domain_unpause", h -> shim.slx_domain_unpause(h, domId));
                local(domId).resumedAtMillis = System.currentTimeMillis();
            }
        }
    }

    // ---- dirty logging and memory -----------------------------------------------------------------------------

    @Override
    public void enableDirtyLogging(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            call("slx_logdirty_enable", h -> shim.slx_logdirty_enable(h, domId));
            local(domId).dirtyLogging = true;
        }
    }

    @Override
    public void disableDirtyLogging(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            call("slx_logdirty_disable", h -> shim.slx_logdirty_disable(h, domId));
            local(domId).dirtyLogging = false;
        }
    }

    @Override
    public PageBitmap readDirtyLog(int domId, boolean clean) throws HypervisorException {
        synchronized (domainLock(domId)) {
            XenShim.DomainInfo raw = rawInfo(domId);
            long pages = raw.pageCount();
            if (pages > Integer.MAX_VALUE * 8L) {
                throw new HypervisorException(Reason.INTERNAL, "domain " + domId + " has " + pages
                        + " guest frames, more than a dirty bitmap in one Java array can hold");
            }
            byte[] bitmap = new byte[(int) ((pages + 7) / 8)];
            LongByReference dirty = new LongByReference();
            if (clean) {
                call("slx_logdirty_clean", h -> shim.slx_logdirty_clean(h, domId, pages, bitmap, dirty));
            } else {
                call("slx_logdirty_peek", h -> shim.slx_logdirty_peek(h, domId, pages, bitmap, dirty));
            }
            // Xen's bitmap spans its whole p2m; the engine's covers the RAM in the DomainConfig's whole MiBs (the
            // special pages of a PVH guest, near 4 GiB, do not migrate)
            long ram = raw.ramPages();
            long configPages = Math.max(memoryMiB(ram) * WorkloadSpec.PAGES_PER_MIB, ram);
            long[] words = new long[PageBitmap.wordsFor(configPages)];
            int fullBytes = (int) (ram / 8);
            for (int i = 0; i < fullBytes; i++) {
                words[i >>> 3] |= (bitmap[i] & 0xffL) << ((i & 7) * 8);
            }
            int tailBits = (int) (ram % 8);
            if (tailBits != 0) {
                words[fullBytes >>> 3] |= (bitmap[fullBytes] & ((1L << tailBits) - 1)) << ((fullBytes & 7) * 8);
            }
            return new PageBitmap(configPages, words);
        }
    }

    @Override
    public GuestMemory mapGuestMemory(int domId, boolean writable) throws HypervisorException {
        long pages = rawInfo(domId).ramPages();
        handleLock.writeLock().lock();
        try {
            if (closed) {
                throw new HypervisorException(Reason.UNAVAILABLE, "the Xen backend is closed; open a new one");
            }
            references++;
        } finally {
            handleLock.writeLock().unlock();
        }
        return new XenGuestMemory(this, domId, pages, writable);
    }

    /** Maps {@code count} consecutive gfns; any frame that cannot be mapped fails the whole call. */
    Pointer mapPages(int domId, boolean writable, long firstGfn, int count) throws HypervisorException {
        long[] gfns = new long[count];
        for (int i = 0; i < count; i++) {
            gfns[i] = firstGfn + i;
        }
        PointerByReference addr = new PointerByReference();
        call("slx_map_pages", h -> shim.slx_map_pages(h, domId, writable ? 1 : 0, count, gfns, null, addr));
        return addr.getValue();
    }

    /** Called by an open memory map, which holds a reference: the handle is still valid. */
    void unmapPages(Pointer address, int count) {
        int rc = shim.slx_unmap_pages(handle, address, count);
        if (rc != 0) {
            // only a wrong address/count fails; nothing the caller of close() could do about it
            System.getLogger(XenBackend.class.getName()).log(System.Logger.Level.WARNING, shim.slx_last_error());
        }
    }

    /** A memory map was closed (or the backend): frees the handle with the last reference. */
    void release() {
        handleLock.writeLock().lock();
        try {
            if (--references == 0) {
                shim.slx_close(handle);
            }
        } finally {
            handleLock.writeLock().unlock();
        }
    }

    /**
     * The protected pfns. Xen's protection module does not publish its layout through the shim, so this is the empty
     * set when the hypervisor holds no protection metadata for the domain (unpatched Xen, or SIZE = 0) and a
     * refusal otherwise, which stops a plain migration of a protected VM before it sends anything.
     */
    @Override
    public PageBitmap protectedPages(int domId) throws HypervisorException {
        long pages = rawInfo(domId).ramPages();
        long configPages = Math.max(memoryMiB(pages) * WorkloadSpec.PAGES_PER_MIB, pages);
        requireNoProtectedState(domId, "its protected page layout");
        return new PageBitmap(configPages, new long[PageBitmap.wordsFor(configPages)]);
    }

    private void requireNoProtectedState(int domId, String what) throws HypervisorException {
        if (!protectionSupported()) {
            return; // an unpatched Xen protects nothing
        }
        long size = protectionMetadataSize(domId);
        if (size != 0) {
            throw new HypervisorException(Reason.PROTECTED_VM, "domain " + domId + " has protected state in the"
                    + " hypervisor (" + size + " bytes of protection metadata), so " + what + " is the protection"
                    + " module's: a VM with protected processes moves only in secure mode, which the Xen backend"
                    + " does not drive yet (use the sim backend for secure migrations)");
        }
    }

    @Override
    public byte[] vcpuContext(int domId, int vcpu) throws HypervisorException {
        byte[] ctx = new byte[vcpuContextSize];
        call("slx_vcpu_context_get", h -> shim.slx_vcpu_context_get(h, domId, vcpu, ctx, ctx.length));
        byte[] hvm = new byte[0];
        if (vcpu == 0 && (rawInfo(domId).flags & XenShim.DOMINFO_HVM) != 0) {
            IntByReference size = new IntByReference();
            call("slx_hvm_context_size", h -> shim.slx_hvm_context_size(h, domId, size));
            byte[] buf = new byte[size.getValue()];
            IntByReference used = new IntByReference();
            call("slx_hvm_context_get", h -> shim.slx_hvm_context_get(h, domId, buf, buf.length, used));
            hvm = Arrays.copyOf(buf, used.getValue());
        }
        return new XenVcpuBlock(ctx, hvm).encode(domId, vcpu);
    }

    @Override
    public void setVcpuContext(int domId, int vcpu, byte[] context) throws HypervisorException {
        XenVcpuBlock block = XenVcpuBlock.decode(context, vcpuContextSize, domId, vcpu);
        synchronized (domainLock(domId)) {
            if (!paused(rawInfo(domId))) {
                throw new HypervisorException(Reason.REFUSED, "domain " + domId + " is running: a vCPU context is set"
                        + " only on a paused domain (pause it first)");
            }
            if (block.hvm.length > 0) {
                call("slx_hvm_context_set", h -> shim.slx_hvm_context_set(h, domId, block.hvm, block.hvm.length));
            }
            call("slx_vcpu_context_set", h -> shim.slx_vcpu_context_set(h, domId, vcpu, block.vcpu,
                    block.vcpu.length));
        }
    }

    // ---- protection metadata (Sealift's domctl) ---------------------------------------------------------------

    /**
     * True if this Xen implements Sealift's protection-metadata domctl (asked once, of domain 0, and remembered);
     * false on an unpatched Xen, where it answers ENOSYS.
     */
    public boolean protectionSupported() throws HypervisorException {
        Boolean known = protmetaSupported;
        if (known == null) {
            LongByReference size = new LongByReference();
            try {
                // plain call(): the probe expects ENOSYS and must not decorate it
                call("slx_protmeta_size", h -> shim.slx_protmeta_size(h, 0, size));
                known = true;
            } catch (XenException e) {
                if (!e.unsupported()) {
                    throw e;
                }
                known = false;
            }
            protmetaSupported = known;
        }
        return known;
    }

    /** Bytes an export of the domain's protection metadata would produce now (0: no protected state). */
    public long protectionMetadataSize(int domId) throws HypervisorException {
        LongByReference size = new LongByReference();
        protmetaCall("slx_protmeta_size", h -> shim.slx_protmeta_size(h, domId, size));
        return size.getValue();
    }

    /**
     * A protection-metadata call: ENOSYS/EOPNOTSUPP (unpatched Xen) says what that leaves possible, and EPERM from
     * the hypervisor (it refuses to let protected state out) is the SPI's PROTECTED_VM.
     */
    private void protmetaCall(String function, ShimCall c) throws HypervisorException {
        try {
            call(function, c);
        } catch (XenException e) {
            if (e.unsupported()) {
                throw new XenException(Reason.REFUSED, function, e.errno(), e.getMessage() + "; without it this host"
                        + " can only run plain-mode migrations of VMs without protected processes");
            }
            if (e.errno() == XenException.EPERM) {
                throw new XenException(Reason.PROTECTED_VM, function, e.errno(), e.getMessage());
            }
            throw e;
        }
    }

    /**
     * The hypervisor-sealed protection-metadata blob of a domain, as Sealift's domctl exports it. An unpatched Xen
     * fails with a {@link XenException} whose {@link XenException#unsupported()} is true and whose message says the
     * domctl is missing (plain mode only for unprotected VMs then); a hypervisor that refuses the export (a VM with
     * protected processes outside a secure migration) fails with {@code PROTECTED_VM}.
     */
    @Override
    public byte[] exportProtectionMetadata(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            for (int attempt = 0; attempt < 3; attempt++) {
                long size = protectionMetadataSize(domId);
                if (size > XenShim.PROTMETA_MAX_SIZE) {
                    throw new HypervisorException(Reason.INTERNAL, "domain " + domId + " reports " + size + " bytes"
                            + " of protection metadata, more than the " + XenShim.PROTMETA_MAX_SIZE + "-byte ABI limit;"
                            + " the hypervisor and the shim disagree about the protection-metadata ABI");
                }
                byte[] buf = new byte[(int) size];
                LongByReference used = new LongByReference();
                try {
                    protmetaCall("slx_protmeta_export", h -> shim.slx_protmeta_export(h, domId, buf, buf.length,
                            used));
                } catch (XenException e) {
                    if (e.errno() == XenException.ENOBUFS) {
                        continue; // it grew between SIZE and EXPORT: size it again
                    }
                    throw e;
                }
                return Arrays.copyOf(buf, (int) used.getValue());
            }
            throw new HypervisorException(Reason.INTERNAL, "the protection metadata of domain " + domId
                    + " kept growing between sizing and export; retry when the domain is paused");
        }
    }

    /** Hands a blob exported by a peer hypervisor to this one, which verifies it (EBADMSG/EINVAL when it does not). */
    public void importProtectionMetadata(int domId, byte[] blob) throws HypervisorException {
        synchronized (domainLock(domId)) {
            protmetaCall("slx_protmeta_import", h -> shim.slx_protmeta_import(h, domId, blob, blob.length));
        }
    }

    // ---- migrations -------------------------------------------------------------------------------------------

    @Override
    public PlainMigration beginPlainMigration(int domId) throws HypervisorException {
        synchronized (domainLock(domId)) {
            XenShim.DomainInfo raw = rawInfo(domId); // NOT_FOUND for a domain that does not exist
            if (domId == 0) {
                throw new HypervisorException(Reason.REFUSED, "domain 0 runs this agent and cannot be migrated");
            }
            Local l = local(domId);
            if (l.migratedAway) {
                throw new HypervisorException(Reason.REFUSED, "domain " + domId + " was migrated away already;"
                        + " destroy it");
            }
            if (l.plainMigration != null) {
                throw new HypervisorException(Reason.LOCKED, "domain " + domId + " is already migrating (plain"
                        + " migration " + l.plainMigration + "); wait for it to finish");
            }
            if (raw.framesAbove4GiB()) {
                throw new HypervisorException(Reason.REFUSED, "domain " + domId + " has guest frames above 4 GiB"
                        + " (max_gpfn 0x" + Long.toHexString(raw.max_gpfn) + "): its RAM is split around the MMIO"
                        + " hole, and the Xen backend moves one RAM range from gfn 0 (" + raw.ramPages() + " pages);"
                        + " migrate it with `xl migrate`, or give the VM less memory than the hole's start");
            }
            requireNoProtectedState(domId, "plain mode");
            byte[] b = new byte[MigrationId.LENGTH];
            random.nextBytes(b);
            MigrationId id = MigrationId.of(b);
            l.plainMigration = id;
            plainTimes.put(id, new long[] {System.currentTimeMillis(), 0});
            String vm = name(domId);
            return new XenPlainMigration(id, domId, vm);
        }
    }

    private final class XenPlainMigration implements PlainMigration {
        private final MigrationId id;
        private final int domId;
        private final String vm;

        XenPlainMigration(MigrationId id, int domId, String vm) {
            this.id = id;
            this.domId = domId;
            this.vm = vm;
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
        public void finish(boolean committed) throws HypervisorException {
            synchronized (domainLock(domId)) {
                Local l = local(domId);
                if (!id.equals(l.plainMigration)) {
                    throw new HypervisorException(Reason.NOT_FOUND, "plain migration " + id + " of " + vm
                            + " (domain " + domId + ") is not in progress on this host");
                }
                l.plainMigration = null;
                if (committed) {
                    l.migratedAway = true;
                }
            }
        }
    }

    /** The plain migrations this backend holds locks for (Xen keeps no sealed decisions of its own). */
    @Override
    public List<MigrationDecision> decisions() {
        List<MigrationDecision> out = new ArrayList<>();
        locals.forEach((domId, l) -> {
            MigrationId id = l.plainMigration;
            if (id != null) {
                out.add(new MigrationDecision(id, MigrationRole.SOURCE, "domain-" + domId, domId, Optional.empty(),
                        MigrationState.PLAIN, false, "plain migration in progress, held by this agent only (Xen"
                        + " records no migration decisions); after an agent restart the VM is paused here with its"
                        + " memory intact: resume it"));
            }
        });
        return out;
    }

    @Override
    public SourceSession beginSecureSource(SourceRequest request) throws HypervisorException {
        throw needsProtectionModule("a secure migration (handshake, page sealing, manifest, commit)");
    }

    @Override
    public DestinationSession openSecureDestination(DestinationRequest request) throws HypervisorException {
        throw needsProtectionModule("receiving a secure migration (handshake, sealed pages, manifest checks)");
    }

    @Override
    public SourceSession sourceSession(MigrationId id) throws HypervisorException {
        throw needsProtectionModule("a secure migration's source session");
    }

    @Override
    public DestinationSession destinationSession(MigrationId id) throws HypervisorException {
        throw needsProtectionModule("a secure migration's destination session");
    }

    // ---- identity, tokens, attestation: the protection module's, not reachable through the shim ----------------

    @Override
    public HostIdentity identity() throws HypervisorException {
        return signer("the host identity (measurement, endorsement and attestation-key chains)").identity();
    }

    /** With a dom0 signer: its CSR (for 'ca enroll --dom0-signer'), never an AK CSR. */
    @Override
    public byte[] createEnrollmentRequest() throws HypervisorException {
        return signer("an attestation-key CSR (the key must be generated inside the hypervisor)").enrollmentRequest();
    }

    /** With a dom0 signer: only its own dom0-signer certificate is accepted, never an AK certificate. */
    @Override
    public void installAttestationCertificate(List<byte[]> chainDer) throws HypervisorException {
        signer("installing an attestation-key certificate").installCertificate(chainDer);
    }

    @Override
    public void installClusterTrust(byte[] clusterTrustPem) throws HypervisorException {
        signer("pinning the cluster trust").installTrust(clusterTrustPem);
    }

    @Override
    public void installPolicy(byte[] signedPolicy) throws HypervisorException {
        signer("installing a cluster policy").installPolicy(signedPolicy);
    }

    @Override
    public byte[] exportToken(MigrationId id, TokenKind kind) throws HypervisorException {
        throw needsProtectionModule("an AK-signed " + kind + " token");
    }

    @Override
    public MigrationDecision importToken(byte[] token) throws HypervisorException {
        throw needsProtectionModule("verifying a commit token");
    }

    @Override
    public MigrationDecision importFence(byte[] fence, byte[] newPolicy) throws HypervisorException {
        throw needsProtectionModule("applying a fence");
    }

    @Override
    /**
     * Only plain migrations' records, and only with a dom0 signer: {@code agentStatistics} must then be
     * {@link PlainMigrationFacts}; the record says the agents reported it. A secure migration's record needs the
     * hypervisor's AK and stays refused.
     */
    public SignedAttestation signAttestation(MigrationId id, byte[] agentStatistics) throws HypervisorException {
        if (!PlainMigrationFacts.isFacts(agentStatistics)) {
            throw needsProtectionModule("signing a secure migration's attestation record");
        }
        Dom0RecordSigner s = signer("signing an attestation record");
        PlainMigrationFacts f = PlainMigrationFacts.decode(agentStatistics);
        if (!f.id().equals(id)) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "the facts are of migration " + f.id() + ", not " + id);
        }
        java.time.Instant paused = null;
        java.time.Instant resumed = null;
        if (f.role() == MigrationRole.SOURCE) {
            long[] t = plainTimes.get(id);
            if (t == null) {
                throw new HypervisorException(Reason.NOT_FOUND, "plain migration " + id + " was not begun on this host"
                        + " (since its agent started)");
            }
            paused = t[1] == 0 ? null : java.time.Instant.ofEpochMilli(t[1]);
        } else {
            try {
                Local l = locals.get(domainByName(f.vm()).domId());
                resumed = l == null || l.resumedAtMillis == 0 ? null : java.time.Instant.ofEpochMilli(l.resumedAtMillis);
            } catch (HypervisorException e) {
                // the incoming domain is gone (the migration did not commit): no resume to record
            }
        }
        return s.sign(f, paused, resumed);
    }

    @Override
    public SignedAttestation countersignAttestation(MigrationId id, byte[] proposedRecord)
            throws HypervisorException {
        return signer("countersigning an attestation record").countersign(id, proposedRecord);
    }

    @Override
    public LogHead appendLogEntry(long index, byte[] previousHash, byte[] encodedEntry) throws HypervisorException {
        return signer("tracking the attestation log head in sealed state").append(index, previousHash, encodedEntry);
    }

    @Override
    public LogHead signLogHead(byte[] verifierNonce) throws HypervisorException {
        return signer("signing the attestation log head").signHead(verifierNonce);
    }

    @Override
    public byte[] protectedMemoryDigest(int domId) throws HypervisorException {
        throw needsProtectionModule("the diagnostics digest of protected memory");
    }

    private HypervisorException needsProtectionModule(String what) {
        String host;
        try {
            host = protectionSupported()
                    ? "this Xen answers the protection-metadata domctl, but the shim has no call for the rest of the"
                            + " protocol yet"
                    : "this Xen is unpatched: it answers Sealift's protection-metadata domctl with ENOSYS, so nothing"
                            + " in it could hold an attestation key or sealed state";
        } catch (HypervisorException e) {
            host = "the protection-metadata domctl could not be queried (" + e.getMessage() + ")";
        }
        return new HypervisorException(Reason.REFUSED, "the Xen backend cannot provide " + what + ": it needs"
                + " Sealift's protection module inside the hypervisor, and " + host + "; this backend runs plain-mode"
                + " migrations of VMs without protected processes (use the sim backend for secure mode)");
    }

    /** Detaches from Xen; domains keep running. The handle is freed once every memory map is closed too. */
    @Override
    public void close() {
        handleLock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            handleLock.writeLock().unlock();
        }
        release();
    }
}
