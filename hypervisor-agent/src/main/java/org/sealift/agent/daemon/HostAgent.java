package org.sealift.agent.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.sealift.agent.api.ApiException;
import org.sealift.agent.api.EventHub;
import org.sealift.agent.api.HostInfo;
import org.sealift.agent.api.HostInfoSource;
import org.sealift.agent.api.Json;
import org.sealift.agent.config.AgentConfig;
import org.sealift.agent.daemon.MigrationRun.MigrationView;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.Deadlines;
import org.sealift.agent.engine.DestinationMigration;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.agent.engine.MigrationListener;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.engine.attack.BackendInterposer;
import org.sealift.agent.engine.attack.StreamInterposer;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.tls.AgentChannelClient;
import org.sealift.agent.tls.ChannelConnection;
import org.sealift.agent.tls.ChannelException;
import org.sealift.agent.tls.ChannelHandler;
import org.sealift.agent.tls.PeerIdentity;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationPhase;
import org.sealift.model.MigrationSummary;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.SignedPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's agent at work: it drives the engine over the hypervisor backend and the agent channel, keeps the
 * migrations' status and history, publishes rounds, phases and outcomes to the event stream, appends attestation
 * records to the host's log, and after a restart settles what the hypervisor's sealed decisions leave open. It holds
 * no key and no plaintext of a protected process (PROTOCOL.md: the agent is dom0's untrusted tool); every decision
 * that matters is the hypervisor's, which is why refusals here come from the hypervisor wherever they can.
 */
public final class HostAgent implements HostInfoSource, ChannelHandler, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HostAgent.class);
    static final String HISTORY_FILE = "migrations.jsonl";
    private static final int HISTORY_KEPT = 1000;

    private final AgentConfig config;
    private final BackendAttachment attachment;
    private final HypervisorBackend backend;
    private final TlsCredentials tls;
    private final EventHub events;
    private final Clock clock;
    private final Peers peers;
    private final AgentChannelClient channel;
    private final AttestationStore store;
    private final ClusterTrust trust;
    private final EngineConfig engine;
    private final ExecutorService runs;
    private final ScheduledExecutorService timers;
    private final Map<String, MigrationRun> migrations = new LinkedHashMap<>();
    private final Map<String, PendingAttestation> awaitingProposal = new ConcurrentHashMap<>();
    private final List<String> setupProblems = new CopyOnWriteArrayList<>();
    /** Source ABORT tokens to carry to destinations whose agents did not answer yet. */
    private final Map<MigrationId, String> abortsToDeliver = new ConcurrentHashMap<>();
    /** Sources settled after RELEASE (by the resolver or an imported token), so that it happens once. */
    private final java.util.Set<MigrationId> settled = ConcurrentHashMap.newKeySet();
    /** Settled migrations whose record this agent already tried to log (once per agent run). */
    private final java.util.Set<MigrationId> attestAttempted = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** A destination's own signed record, logged alone if the source's proposal does not come in time. */
    private static final class PendingAttestation {
        final MigrationRun run;
        final SignedAttestation own;
        boolean logged;

        PendingAttestation(MigrationRun run, SignedAttestation own) {
            this.run = run;
            this.own = own;
        }
    }

    private HostAgent(AgentConfig config, BackendAttachment attachment, TlsCredentials tls, EventHub events,
            Clock clock, AttestationStore store, ClusterTrust trust) {
        this.config = config;
        this.attachment = attachment;
        this.backend = attachment.backend();
        this.tls = tls;
        this.events = events;
        this.clock = clock;
        this.store = store;
        this.trust = trust;
        this.peers = new Peers(config.peers(), config.peersFile());
        this.channel = new AgentChannelClient(tls, clock, config.channelHandshakeTimeout());
        AgentConfig.MigrationTimes t = config.migration();
        this.engine = EngineConfig.DEFAULTS.withDeadlines(new Deadlines(t.handshake(), t.precopySilence(),
                t.pausedWithoutRelease(), t.readyDeadline()));
        this.runs = Executors.newCachedThreadPool(r -> {
            Thread th = new Thread(r, "sealift-migration");
            th.setDaemon(true);
            return th;
        });
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "sealift-agent-timers");
            th.setDaemon(true);
            return th;
        });
    }

    /**
     * Attaches to the hypervisor (starting it if needed), installs the host's credentials into it, loads the
     * attestation log and history, settles migrations the hypervisor left open, and starts retrying those in doubt.
     */
    public static HostAgent start(AgentConfig config, TlsCredentials tls, EventHub events, Clock clock)
            throws HypervisorException, IOException {
        BackendAttachment a = BackendAttachment.open(config);
        return start(config, a, tls, events, clock);
    }

    static HostAgent start(AgentConfig config, BackendAttachment a, TlsCredentials tls, EventHub events, Clock clock)
            throws IOException {
        ClusterTrust trust = null;
        List<String> problems = new ArrayList<>(a.provision(config.credentialsDir()));
        try {
            trust = ClusterTrust.load(config.tlsCa());
        } catch (IOException | ProtocolException e) {
            problems.add("tls.ca " + config.tlsCa() + " is not a cluster trust file (" + e.getMessage()
                    + "): use the cluster-trust.pem from 'sealift ca enroll --host' so that policies can be checked");
        }
        AttestationStore store;
        try {
            store = new AttestationStore(config.dataDir(), config.hostId(), a.backend());
        } catch (IOException e) {
            a.close();
            throw e;
        }
        HostAgent agent = new HostAgent(config, a, tls, events, clock, store, trust);
        agent.setupProblems.addAll(problems);
        for (String p : problems) {
            LOG.warn("host {}: {}", config.hostId(), p);
        }
        try {
            store.rememberAk(a.backend().identity().attestationChain());
        } catch (HypervisorException e) {
            // reported by hostInfo
        }
        String logProblem = store.checkAgainstHypervisor();
        if (logProblem != null) {
            LOG.warn("host {}: {}", config.hostId(), logProblem);
        }
        agent.loadHistory();
        agent.recover();
        long every = config.migration().resolveInterval().toMillis();
        agent.timers.scheduleWithFixedDelay(agent::resolveInDoubt, every, every, TimeUnit.MILLISECONDS);
        agent.timers.scheduleWithFixedDelay(agent::deliverAborts, every, every, TimeUnit.MILLISECONDS);
        // records of migrations settled while no agent ran: at once, then as the hypervisor settles more alone
        agent.timers.scheduleWithFixedDelay(agent::attestUnrecorded, 0, every, TimeUnit.MILLISECONDS);
        LOG.info("host {}: attached to {}", config.hostId(), a.backend());
        return agent;
    }

    public String hostId() {
        return config.hostId();
    }

    HypervisorBackend backend() {
        return backend;
    }

    AttestationStore store() {
        return store;
    }

    ClusterTrust trust() {
        return trust;
    }

    Peers peers() {
        return peers;
    }

    AgentConfig config() {
        return config;
    }

    // ---- host info ----------------------------------------------------------------------------------------------

    @Override
    public HostInfo hostInfo() {
        HostIdentity id;
        List<DomainInfo> domains;
        try {
            id = backend.identity();
            domains = backend.listDomains();
        } catch (HypervisorException e) {
            throw ApiException.unavailable("hypervisor_unreachable", "the hypervisor of host " + config.hostId()
                    + " does not answer: " + e.getMessage());
        }
        List<String> problems = new ArrayList<>(setupProblems);
        String measurement = Hex.encode(id.measurement());
        boolean attested = false;
        String policyText = null;
        Optional<Policy> policy = currentPolicy(id.policySerial(), problems);
        if (policy.isPresent()) {
            policyText = policy.get().describe();
        } else if (id.policySerial() > 0) {
            policyText = "policy serial " + Long.toUnsignedString(id.policySerial());
        }
        if (!id.enrolled()) {
            problems.add("the hypervisor is not enrolled (no AK certificate): run 'sealift agent"
                    + " --enrollment-request FILE' and 'sealift ca enroll --host " + config.hostId() + " --csr FILE'");
        } else if (trust != null && policy.isPresent()) {
            try {
                new AkValidator(trust).validate(Certificates.parseChain(id.attestationChain()), policy.get(),
                        clock.instant());
                attested = true;
            } catch (ProtocolException e) {
                // the validator's message already says "host h4 is not attested: ..." after its reason name
                String m = String.valueOf(e.getMessage()).replaceFirst("^[A-Z_]+: ", "");
                problems.add(m.startsWith("host " + config.hostId() + " is not attested") ? m
                        : "host " + config.hostId() + " is not attested: " + m);
            }
        }
        if (policy.isPresent() && !policy.get().allowsMeasurement(id.measurement())) {
            String p = "measurement " + measurement + " is not in " + policy.get().describe()
                    + ": other hosts will refuse this hypervisor; if this build is trusted, sign a policy with"
                    + " 'sealift ca sign-policy --allow-measurement " + measurement + "'";
            if (!problems.contains(p) && problems.stream().noneMatch(x -> x.contains("is not in"))) {
                problems.add(p);
            }
        }
        String logProblem = store.problem();
        if (logProblem != null) {
            problems.add(logProblem);
        }
        long inDoubt = 0;
        try {
            inDoubt = backend.decisions().stream().filter(MigrationDecision::inDoubt).count();
        } catch (HypervisorException e) {
            problems.add("the hypervisor did not list its migration decisions: " + e.getMessage());
        }
        if (inDoubt > 0) {
            problems.add(inDoubt + " migration(s) in doubt: 'sealift in-doubt' lists them and how to resolve them");
        }
        long used = 0;
        for (DomainInfo d : domains) {
            if (d.state() != DomainState.MIGRATED_AWAY && d.state() != DomainState.ZEROIZED) {
                used += d.config().memoryMiB();
            }
        }
        String status = !attested ? "down" : problems.isEmpty() ? "ok" : "degraded";
        if (!attested && problems.isEmpty()) {
            problems.add("host " + config.hostId() + " is not attested: no cluster trust or policy to check it with");
        }
        return new HostInfo(config.hostId(), config.backend().label(), measurement, attested, policyText,
                new HostInfo.Capacity(attachment.capacityMiB(), Math.max(0, attachment.capacityMiB() - used),
                        attachment.capacityVcpus(), domains.size()),
                new HostInfo.Health(status, problems));
    }

    /** The policy the hypervisor runs with, as far as the agent's files show it (verified with the trust). */
    private Optional<Policy> currentPolicy(long serial, List<String> problems) {
        Path file = config.credentialsDir().resolve("policy.pem");
        if (trust == null || !Files.exists(file)) {
            return Optional.empty();
        }
        try {
            Policy p = SignedPolicy.load(file).verify(trust);
            if (p.serial() != serial) {
                problems.add("the hypervisor runs policy serial " + Long.toUnsignedString(serial) + " but "
                        + file + " is serial " + Long.toUnsignedString(p.serial())
                        + "; copy the current policy.pem from the CA to the host and restart the agent");
            }
            return Optional.of(p);
        } catch (IOException | ProtocolException e) {
            problems.add("cannot use " + file + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Signed policy bytes as installed from the credentials directory, for verifiers; null if none. */
    String policyPem() {
        try {
            Path f = config.credentialsDir().resolve("policy.pem");
            return Files.exists(f) ? Files.readString(f, StandardCharsets.US_ASCII) : null;
        } catch (IOException e) {
            return null;
        }
    }

    // ---- migrations: the source ---------------------------------------------------------------------------------

    /** Body of {@code POST /v1/migrations}. */
    public record MigrateRequest(String vm, String to, String mode, Integer maxRounds, Integer downtimeMs,
            Integer bandwidthMiBps, String inject) {
    }

    /**
     * Starts a migration of a local VM: checks the request, opens the agent channel to the destination, takes the
     * VM's migration lock in the hypervisor (which refuses a second migration and plain mode for a protected VM),
     * has the destination prepare, then runs the engine in the background.
     *
     * @throws ApiException for every refusal, with nothing changed
     */
    MigrationRun startMigration(MigrateRequest req, String operator) {
        if (closed) {
            throw ApiException.unavailable("stopping", "agent " + config.hostId() + " is stopping; retry on its"
                    + " successor");
        }
        if (req.vm() == null || req.vm().isBlank()) {
            throw ApiException.badRequest("invalid_field", "field 'vm' is missing: name the VM to migrate");
        }
        if (req.to() == null || req.to().isBlank()) {
            throw ApiException.badRequest("invalid_field", "field 'to' is missing: name the destination host");
        }
        if (req.to().equals(config.hostId())) {
            throw ApiException.badRequest("migrate_to_self", "VM " + req.vm() + " is already on host "
                    + config.hostId() + ": give another host as 'to'");
        }
        MigrationMode mode;
        String m = req.mode() == null ? "secure" : req.mode();
        switch (m) {
            case "secure" -> mode = MigrationMode.SECURE;
            case "plain" -> mode = MigrationMode.PLAIN;
            default -> throw ApiException.badRequest("invalid_field", "mode '" + m + "' is unknown: use 'secure'"
                    + " (protected processes stay protected) or 'plain' (unprotected VMs only)");
        }
        MigrationOptions options;
        try {
            options = MigrationOptions.defaults(mode);
            if (req.maxRounds() != null) {
                options = options.withMaxRounds(req.maxRounds());
            }
            if (req.downtimeMs() != null) {
                options = options.withDowntimeTargetMs(req.downtimeMs());
            }
            if (req.bandwidthMiBps() != null) {
                options = options.withBandwidthMiBps(req.bandwidthMiBps());
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_field", e.getMessage());
        }
        Attacks.Attack attack = null;
        if (req.inject() != null) {
            if (!config.allowFaultInjection()) {
                throw new ApiException(403, "fault_injection_disabled", "agent " + config.hostId() + " does not"
                        + " allow fault injection ('inject'); only lab agents run with --allow-fault-injection");
            }
            attack = Attacks.Attack.byLabel(req.inject()).orElseThrow(() -> ApiException.badRequest(
                    "invalid_field", "attack '" + req.inject() + "' is unknown; use one of " + Attacks.Attack.labels()));
            if (mode != MigrationMode.SECURE) {
                throw ApiException.badRequest("invalid_field", "attack '" + attack.label + "' targets the secure"
                        + " protocol; a plain migration has no protection to attack: use mode 'secure'");
            }
        }
        DomainInfo vm;
        try {
            vm = backend.domainByName(req.vm());
        } catch (HypervisorException e) {
            if (e.reason() == HypervisorException.Reason.NOT_FOUND) {
                throw ApiException.notFound("there is no VM " + req.vm() + " on host " + config.hostId()
                        + "; 'GET /v1/vms' (sealift vms) lists the VMs of each host");
            }
            throw hypervisorRefusal(e, "look up VM " + req.vm());
        }
        if (attack != null && attack.needsProtectedPages && !vm.hasProtectedProcesses()) {
            throw ApiException.badRequest("invalid_field", "attack '" + attack.label + "' targets protected pages,"
                    + " but VM " + vm.name() + " has no protected process; inject it into a migration of a VM"
                    + " with one (the lab's db-01)");
        }
        String connectTo = req.to();
        if (attack == Attacks.Attack.IMPERSONATE) {
            connectTo = peers.all().keySet().stream().filter(h -> !h.equals(req.to()) && !h.equals(config.hostId()))
                    .findFirst().orElseThrow(() -> ApiException.badRequest("invalid_field", "attack 'impersonate'"
                            + " needs a third host to pretend to be " + req.to() + "; this agent knows "
                            + peers.all().keySet()));
        }
        InetSocketAddress address = peers.address(connectTo).orElseThrow(() -> ApiException.badRequest(
                "unknown_host", "host " + req.to() + " is not known to agent " + config.hostId() + "; "
                        + peers.whereConfigured()));
        ChannelConnection conn;
        try {
            conn = channel.connect(address, connectTo, "migrate " + vm.name());
        } catch (ChannelException | TlsSetupException e) {
            throw new ApiException(502, "peer_unreachable", e.getMessage());
        }
        // the hypervisor's decision, before anything else happens: its lock, its refusal of plain mode
        SourceSession session = null;
        PlainMigration plain = null;
        String id;
        try {
            if (mode == MigrationMode.SECURE) {
                session = backend.beginSecureSource(SourceRequest.to(vm.domId(), req.to()));
                id = session.id().toString();
            } else {
                plain = backend.beginPlainMigration(vm.domId());
                id = plain.id().toString();
            }
        } catch (HypervisorException e) {
            conn.close();
            throw hypervisorRefusal(e, "migrate VM " + vm.name());
        }
        MigrationRun run = new MigrationRun(id, MigrationRun.SOURCE, vm.name(), config.hostId(), req.to(), mode,
                attack == null ? null : attack.label, clock.instant());
        ChannelMessage answer;
        try {
            conn.setReadTimeout(offerAnswerTimeout(vm.config().memoryMiB()));
            ChannelMessage.request("migrate", id).withVm(VmSpec.of(vm.config()), mode.name().toLowerCase(
                    java.util.Locale.ROOT), attack == null ? null : attack.label).writeTo(conn.out());
            answer = ChannelMessage.readFrom(conn.in(), "agent " + connectTo);
            conn.setReadTimeout(Duration.ZERO);
        } catch (IOException e) {
            answer = ChannelMessage.refused("peer_unreachable", "agent " + connectTo + " did not answer the"
                    + " migration offer: " + e.getMessage());
        }
        if (!answer.isOk()) {
            conn.close();
            String why = "the destination refused: " + answer.message();
            giveUp(run, session, plain, why);
            throw new ApiException(409, answer.error() == null ? "peer_refused" : answer.error(), "host "
                    + connectTo + " refused to receive VM " + vm.name() + ": " + answer.message());
        }
        register(run);
        launchSource(run, vm, session, plain, conn, options, attack, req.to(), operator);
        return run;
    }

    private ApiException hypervisorRefusal(HypervisorException e, String what) {
        String msg = "the hypervisor of host " + config.hostId() + " refused to " + what + ": " + e.getMessage();
        return switch (e.reason()) {
            case LOCKED -> ApiException.conflict("vm_locked", msg);
            case PROTECTED_VM -> ApiException.conflict("protected_vm", msg);
            case NOT_ENROLLED -> ApiException.conflict("not_enrolled", msg);
            case NOT_FOUND -> ApiException.notFound(msg);
            case ALREADY_EXISTS -> ApiException.conflict("already_exists", msg);
            case INVALID_ARGUMENT -> ApiException.badRequest("invalid_field", msg);
            case STATE_IN_DOUBT -> ApiException.conflict("state_in_doubt", msg);
            case UNAVAILABLE -> ApiException.unavailable("hypervisor_unreachable", msg);
            default -> ApiException.conflict("refused", msg);
        };
    }

    /** The destination refused before the stream started: end the hypervisor's session and record it. */
    private void giveUp(MigrationRun run, SourceSession session, PlainMigration plain, String why) {
        try {
            if (session != null) {
                session.abort(ProtocolException.Reason.POLICY, why);
            } else if (plain != null) {
                plain.finish(false);
            }
        } catch (HypervisorException e) {
            LOG.warn("host {}: ending migration {} after the refusal failed: {}", config.hostId(), run.id,
                    e.getMessage());
        }
        run.settle(new MigrationSummary(run.id, run.vm, run.mode, MigrationOutcome.REJECTED, why, List.of(), 0, 0,
                List.of()), false, clock.instant());
        register(run);
        if (session != null) {
            try {
                SignedAttestation a = backend.signAttestation(session.id(), new byte[0]);
                logAlone(run, a, "the destination refused before the handshake");
            } catch (HypervisorException e) {
                run.attested(null, "no record: " + e.getMessage());
            }
        }
        finished(run);
    }

    private void launchSource(MigrationRun run, DomainInfo vm, SourceSession session, PlainMigration plain,
            ChannelConnection conn, MigrationOptions options, Attacks.Attack attack, String destination,
            String operator) {
        Consumer<String> notes = note(run);
        HypervisorBackend forEngine = session != null ? PreparedBackend.of(backend, "beginSecureSource", session)
                : PreparedBackend.of(backend, "beginPlainMigration", plain);
        Transport wire = ChannelTransport.of(conn.in(), conn.out(), conn.describe(), conn);
        Transport engineSide = wire;
        StreamInterposer interposer = null;
        Runnable before = null;
        if (attack != null) {
            Attacks.SourcePlan plan = Attacks.source(attack, backend, vm.domId(), destination,
                    attachment.sealedStateFile(), attachment.oldPolicy(config.credentialsDir()),
                    attachment::tamperDetections, notes);
            before = plan.before();
            if (plan.hook() != null) {
                forEngine = new BackendInterposer(forEngine, plan.hook()).backend();
            }
            if (plan.stream() != null) {
                try {
                    Transport[] pair = ChannelTransport.loopbackPair();
                    interposer = new StreamInterposer(pair[1], wire, plan.stream());
                    engineSide = pair[0];
                } catch (IOException e) {
                    notes.accept("the attack could not be set up: " + e.getMessage());
                }
            }
        }
        SourceMigration engineRun = new SourceMigration(forEngine, vm.domId(), Optional.of(destination), engineSide,
                options, engine, List.of(listener(run)));
        run.engine(engineRun);
        LOG.info("migration {} of {} {} -> {} ({}{}) requested by {}", shortId(run.id), run.vm, config.hostId(),
                destination, run.mode.name().toLowerCase(java.util.Locale.ROOT),
                attack == null ? "" : ", injecting " + attack.label, operator);
        Runnable b = before;
        StreamInterposer ip = interposer;
        runs.execute(() -> {
            MigrationResult result;
            try {
                if (b != null) {
                    b.run();
                }
                result = engineRun.run();
            } finally {
                if (ip != null) {
                    ip.close();
                }
                conn.close();
            }
            finishSource(run, result);
        });
    }

    private void finishSource(MigrationRun run, MigrationResult result) {
        run.finish(result, clock.instant());
        if (run.mode == MigrationMode.SECURE && result.summary().outcome() == MigrationOutcome.ABORTED_BY_SOURCE) {
            // the ABORT record may have died with the stream: carry the token, so the destination zeroizes now
            result.decision().ifPresent(this::deliverAbort);
        }
        if (result.attestation().isPresent()) {
            exchangeAttestation(run, result.attestation().get());
        } else if (run.mode == MigrationMode.PLAIN) {
            plainRecord(run, result.summary(), MigrationRole.SOURCE).ifPresent(own -> exchangeAttestation(run, own));
        } else {
            run.attested(null, "the hypervisor gave no record: " + result.summary().anomalies());
        }
        finished(run);
    }

    /**
     * A plain migration's own record. Hypervisors take no part in a plain migration; only a dom0-held record signer
     * (the Xen backend on an unpatched Xen, enrolled with 'ca enroll --dom0-signer') signs one, from the agent's facts,
     * and the records then go through the same exchange and log as hypervisor-signed ones.
     */
    private Optional<SignedAttestation> plainRecord(MigrationRun run, MigrationSummary summary, MigrationRole role) {
        try {
            org.sealift.agent.spi.PlainMigrationFacts f = new org.sealift.agent.spi.PlainMigrationFacts(
                    MigrationId.parse(run.id), role, run.vm, run.sourceHost, run.destinationHost,
                    summary.outcome().name(), summary.reason() == null ? "" : summary.reason(), run.started,
                    org.sealift.agent.engine.AgentStatistics.encode(summary));
            return Optional.of(backend.signAttestation(f.id(), f.encode()));
        } catch (HypervisorException | RuntimeException e) {
            run.attested(null, "plain migration: the hypervisors took no part and attest nothing"
                    + (e instanceof HypervisorException h && h.reason() == HypervisorException.Reason.NOT_ENROLLED
                            ? " (" + e.getMessage() + ")" : ""));
            return Optional.empty();
        }
    }

    /**
     * The source proposes its hypervisor's record to the destination, whose hypervisor countersigns it after checking
     * every field it computed itself; both hosts log the doubly signed record. If the destination cannot be reached or
     * refuses, the record is logged with the source's signature alone and the reason is kept.
     */
    private void exchangeAttestation(MigrationRun run, SignedAttestation own) {
        exchangeAttestation(run, own, clock.instant().plus(commitProposalWait()));
    }

    /**
     * How long the two sides of a COMMITTED migration keep trying to put both signatures on its record (a COMMITTED
     * record needs both): beyond the source's wait for DONE (twice the READY deadline), plus the usual wait.
     */
    private Duration commitProposalWait() {
        return config.migration().readyDeadline().multipliedBy(2).plus(config.migration().attestWait());
    }

    /** How long a destination waits for the source's proposal before it logs its own record alone. */
    private long proposalWaitMillis(SignedAttestation own) {
        try {
            if (AttestationRecord.fromCanonicalBytes(own.fields()).outcome()
                    == org.sealift.protocol.attest.Outcome.COMMITTED) {
                return commitProposalWait().toMillis(); // the source proposes once it has DONE, maybe much later
            }
        } catch (ProtocolException e) {
            // logged alone as it is, after the usual wait
        }
        return config.migration().attestWait().toMillis();
    }

    /**
     * @param retryUntil for a COMMITTED record whose destination cannot be reached (its agent down): until when the
     *                   proposal is retried before the record is logged with the source's signature alone
     */
    private void exchangeAttestation(MigrationRun run, SignedAttestation own, Instant retryUntil) {
        attestAttempted.add(MigrationId.parse(run.id)); // in hand: the settled-record sweep leaves it alone
        AttestationRecord rec;
        try {
            rec = AttestationRecord.fromCanonicalBytes(own.fields());
        } catch (ProtocolException e) {
            run.attested(null, "the hypervisor's record does not parse: " + e.getMessage());
            return;
        }
        SignedRecord signed = SignedRecord.unsigned(rec).withSignature(Side.SOURCE, own.signature());
        String note = null;
        String peer = run.destinationHost;
        try {
            InetSocketAddress address = peers.address(peer).orElseThrow(() -> new IOException("host " + peer
                    + " is not known to this agent"));
            try (ChannelConnection c = channel.connect(address, peer, "attest " + shortId(run.id))) {
                c.setReadTimeout(config.migration().attestWait().plus(config.channelHandshakeTimeout()));
                ChannelMessage.request("attest", run.id).withAttestation(own.fields(), own.signature(),
                        backend.identity().attestationChain()).writeTo(c.out());
                ChannelMessage answer = ChannelMessage.readFrom(c.in(), "agent " + peer);
                if (answer.notes() != null) {
                    for (String n : answer.notes()) {
                        run.anomaly("at " + peer + ": " + n);
                    }
                }
                if (answer.outcome() != null) {
                    run.peerOutcome(answer.outcome(), answer.reason());
                }
                if (answer.isOk() && answer.signature() != null) {
                    signed = signed.withSignature(Side.DESTINATION, answer.signature());
                    store.rememberAk(answer.akChain());
                } else {
                    note = "host " + peer + " did not countersign: " + answer.message();
                }
            }
        } catch (IOException | TlsSetupException | HypervisorException e) {
            note = "host " + peer + " could not be asked to countersign: " + e.getMessage();
            if (rec.outcome() == org.sealift.protocol.attest.Outcome.COMMITTED && !closed
                    && clock.instant().isBefore(retryUntil) && !(e instanceof HypervisorException)) {
                // a COMMITTED record needs both signatures: ask again while the destination's agent is away
                run.attested(null, "waiting to exchange the record with host " + peer + ": " + note);
                LOG.info("migration {}: {}; retrying", shortId(run.id), note);
                timers.schedule(() -> {
                    exchangeAttestation(run, own, retryUntil);
                    events.publish("attestation", run.view(config.hostId()));
                }, config.migration().resolveInterval().toMillis(), TimeUnit.MILLISECONDS);
                return;
            }
        }
        try {
            long index = store.append(signed);
            run.attested(index, note == null ? null : "logged with the source's signature only: " + note,
                    rec.outcome().name(), rec.reasonName(), note == null);
        } catch (HypervisorException | IOException e) {
            run.attested(null, "not logged: " + e.getMessage());
        }
    }

    /** Logs this host's own signed record alone (REJECTED records may carry one signature). */
    private void logAlone(MigrationRun run, SignedAttestation own, String why) {
        try {
            AttestationRecord rec = AttestationRecord.fromCanonicalBytes(own.fields());
            Side side = own.role() == MigrationRole.SOURCE ? Side.SOURCE : Side.DESTINATION;
            long index = store.append(SignedRecord.unsigned(rec).withSignature(side, own.signature()));
            run.attested(index, "logged with this host's signature only: " + why, rec.outcome().name(),
                    rec.reasonName(), false);
        } catch (ProtocolException | HypervisorException | IOException e) {
            run.attested(null, "not logged: " + e.getMessage());
        }
    }

    /**
     * Cancels a migration this host sends: a real ABORT before RELEASE (the VM resumes here); after RELEASE a
     * refusal, because the destination may already run the VM.
     */
    MigrationRun cancel(String id) {
        MigrationRun run = migration(id);
        if (!run.role.equals(MigrationRun.SOURCE)) {
            throw ApiException.conflict("not_source", "host " + config.hostId() + " receives migration " + id
                    + "; cancel it at its source, host " + run.sourceHost);
        }
        if (run.finished() || (run.summary() != null && !run.view(config.hostId()).inDoubt())) {
            throw ApiException.conflict("finished", "migration " + id + " has already ended ("
                    + run.view(config.hostId()).outcome() + "); there is nothing to cancel");
        }
        SourceMigration e = run.engine();
        if (run.released() || e == null || !e.cancel()) {
            throw ApiException.conflict("released", "migration " + id + " of " + run.vm + " is past RELEASE: host "
                    + run.destinationHost + " may already run the VM, so it can no longer be cancelled; it completes"
                    + " when DONE arrives, or is resolved as in doubt ('sealift in-doubt')");
        }
        LOG.info("migration {} of {}: cancel requested (ABORT before RELEASE)", shortId(id), run.vm);
        return run;
    }

    // ---- migrations: the destination ----------------------------------------------------------------------------

    @Override
    public String refusal(PeerIdentity peer, String label) {
        return closed ? "agent " + config.hostId() + " is stopping" : null;
    }

    @Override
    public void handle(ChannelConnection conn) throws Exception {
        String from = conn.peer().name();
        conn.setReadTimeout(config.channelHandshakeTimeout());
        ChannelMessage msg;
        try {
            msg = ChannelMessage.readFrom(conn.in(), "agent " + from);
        } catch (IOException e) {
            LOG.warn("channel '{}' from {}: {}", conn.label(), from, e.getMessage());
            return;
        }
        String type = msg.type() == null ? "" : msg.type();
        switch (type) {
            case "migrate" -> receive(conn, msg);
            case "attest" -> countersign(conn, msg);
            case "token" -> acceptToken(conn, msg);
            default -> ChannelMessage.refused("unknown_request", "agent " + config.hostId() + " does not know the"
                    + " channel request '" + type + "'; are both agents of the same version?").writeTo(conn.out());
        }
    }

    private void receive(ChannelConnection conn, ChannelMessage offer) throws IOException {
        String from = conn.peer().name();
        MigrationMode mode;
        DomainConfig vmConfig;
        MigrationId id;
        Attacks.Attack attack = null;
        try {
            mode = MigrationMode.valueOf(String.valueOf(offer.mode()).toUpperCase(java.util.Locale.ROOT));
            vmConfig = offer.vm().toDomainConfig();
            id = MigrationId.parse(String.valueOf(offer.migrationId()));
            if (offer.inject() != null) {
                attack = Attacks.Attack.byLabel(offer.inject()).orElseThrow(() -> new IllegalArgumentException(
                        "unknown attack '" + offer.inject() + "'"));
                if (!config.allowFaultInjection()) {
                    ChannelMessage.refused("fault_injection_disabled", "host " + config.hostId() + " does not allow"
                            + " fault injection").writeTo(conn.out());
                    return;
                }
            }
        } catch (RuntimeException e) {
            ChannelMessage.refused("invalid_offer", "the migration offer is invalid: " + e.getMessage())
                    .writeTo(conn.out());
            return;
        }
        removeLeftover(vmConfig.name());
        Object prepared;
        int domId;
        try {
            if (mode == MigrationMode.SECURE) {
                DestinationSession s = backend.openSecureDestination(new DestinationRequest(vmConfig,
                        Optional.of(from), config.migration().readyDeadline().toMillis()));
                prepared = s;
                domId = s.domId();
            } else {
                DomainInfo d = backend.createDomain(DestinationMigration.incoming(vmConfig));
                prepared = d;
                domId = d.domId();
            }
        } catch (HypervisorException e) {
            LOG.warn("host {}: refused to receive {} from {}: {}", config.hostId(), vmConfig.name(), from,
                    e.getMessage());
            ChannelMessage.refused(e.reason() == HypervisorException.Reason.ALREADY_EXISTS ? "already_exists"
                    : "refused", "the hypervisor of host " + config.hostId() + " refused: " + e.getMessage())
                    .writeTo(conn.out());
            return;
        }
        ChannelMessage.accepted().writeTo(conn.out());
        conn.setReadTimeout(Duration.ZERO);
        MigrationRun run = new MigrationRun(id.toString(), MigrationRun.DESTINATION, vmConfig.name(), from,
                config.hostId(), mode, attack == null ? null : attack.label, clock.instant());
        register(run);
        HypervisorBackend forEngine = PreparedBackend.of(backend, mode == MigrationMode.SECURE
                ? "openSecureDestination" : "createDomain", prepared);
        Attacks.HeldOutput held = attack == Attacks.Attack.HOLD_DONE ? new Attacks.HeldOutput(conn.out()) : null;
        if (attack != null) {
            forEngine = new BackendInterposer(forEngine, Attacks.destination(attack, backend, domId, note(run),
                    held)).backend();
        }
        LOG.info("migration {} of {} {} -> {} ({}): receiving", shortId(run.id), run.vm, from, config.hostId(),
                mode.name().toLowerCase(java.util.Locale.ROOT));
        java.io.InputStream in = conn.in();
        Transport wire = held == null ? ChannelTransport.of(in, conn.out(), conn.describe(), conn)
                : ChannelTransport.of(new java.io.FilterInputStream(in) {
                    @Override
                    public void close() throws IOException {
                        if (!held.held()) {
                            super.close();
                        }
                    }
                }, held, conn.describe(), () -> {
                    if (!held.held()) {
                        conn.close();
                    }
                });
        DestinationMigration d = new DestinationMigration(forEngine, vmConfig, Optional.of(from), wire, mode, engine,
                List.of(listener(run)));
        MigrationResult result = d.run();
        run.finish(result, clock.instant());
        if (!result.committed()) {
            removeLeftover(vmConfig.name());
        }
        if (result.attestation().isPresent()) {
            PendingAttestation p = new PendingAttestation(run, result.attestation().get());
            awaitingProposal.put(run.id, p);
            timers.schedule(() -> logPendingAlone(p), proposalWaitMillis(p.own), TimeUnit.MILLISECONDS);
        } else if (mode == MigrationMode.PLAIN) {
            Optional<SignedAttestation> own = plainRecord(run, result.summary(), MigrationRole.DESTINATION);
            if (own.isPresent()) {
                PendingAttestation p = new PendingAttestation(run, own.get());
                awaitingProposal.put(run.id, p);
                timers.schedule(() -> logPendingAlone(p), proposalWaitMillis(p.own), TimeUnit.MILLISECONDS);
            }
        } else if (result.decision().filter(x -> x.state() == MigrationState.FENCED).isPresent()) {
            run.attested(null, "decided by an operator's fence: the fence file from 'sealift ca fence' is this"
                    + " migration's record; the hypervisor signs none");
        }
        finished(run);
        if (held != null && held.held()) {
            // dom0 keeps the connection open without DONE: the source waits until its deadline, or a crash; the
            // channel closes when this handler returns
            Attacks.HeldOutput.awaitPeerEnd(in);
        }
    }

    /**
     * Destroys a domain of this name that can never run again (zeroized after an abort, or migrated away), so that
     * the VM can be received again; a domain that can still run is left alone.
     */
    private void removeLeftover(String name) {
        try {
            DomainInfo d = backend.domainByName(name);
            if (d.state() == DomainState.ZEROIZED || d.state() == DomainState.MIGRATED_AWAY) {
                backend.destroyDomain(d.domId());
                LOG.info("host {}: removed the {} copy of {} (domain {})", config.hostId(), d.state(), name,
                        d.domId());
            }
        } catch (HypervisorException e) {
            // no such domain, or the hypervisor keeps it (it decides)
        }
    }

    private void logPendingAlone(PendingAttestation p) {
        synchronized (p) {
            if (p.logged) {
                return;
            }
            p.logged = true;
        }
        attestAttempted.add(MigrationId.parse(p.run.id));
        awaitingProposal.remove(p.run.id);
        logAlone(p.run, p.own, "the source's proposal did not arrive within " + proposalWaitMillis(p.own)
                + " ms");
        LOG.warn("migration {}: logged this host's record alone: {}", shortId(p.run.id), p.run.view(config.hostId())
                .attestationNote());
    }

    /** The destination side of the attestation exchange: verify the proposer, countersign, log, answer. */
    private void countersign(ChannelConnection conn, ChannelMessage msg) throws IOException {
        String from = conn.peer().name();
        MigrationId id;
        AttestationRecord rec;
        try {
            id = MigrationId.parse(String.valueOf(msg.migrationId()));
            rec = AttestationRecord.fromCanonicalBytes(msg.fields());
            if (!rec.source().hostId().equals(from)) {
                throw new IllegalArgumentException("the record names " + rec.source().hostId() + " as source, but"
                        + " agent " + from + " proposed it");
            }
            X509Certificate ak = Certificates.parse(msg.akChain().get(0));
            if (!java.util.Arrays.equals(Certificates.fingerprint(ak), rec.source().akFingerprint())
                    || !SignedRecord.unsigned(rec).withSignature(Side.SOURCE, msg.signature())
                            .verifies(Side.SOURCE, ak.getPublicKey())) {
                throw new IllegalArgumentException("the source signature does not verify with the AK the record"
                        + " names");
            }
        } catch (ProtocolException | RuntimeException e) {
            ChannelMessage.refused("invalid_proposal", "host " + config.hostId() + " will not countersign: "
                    + e.getMessage()).writeTo(conn.out());
            return;
        }
        MigrationRun run;
        synchronized (migrations) {
            run = migrations.get(id.toString());
        }
        if (run != null) {
            try {
                // the local run must have ended: its hypervisor signs only final decisions
                run.done.await(config.migration().attestWait().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        PendingAttestation pending = awaitingProposal.get(id.toString());
        if (pending != null) {
            synchronized (pending) {
                if (pending.logged) {
                    pending = null;
                } else {
                    pending.logged = true;
                }
            }
            if (pending == null) {
                ChannelMessage.refused("already_logged", "host " + config.hostId() + " already logged its own"
                        + " record of migration " + id + " alone (the proposal came too late)").writeTo(conn.out());
                return;
            }
            attestAttempted.add(id);
            awaitingProposal.remove(id.toString());
        } else if (store.indexOf(id.toString()).isPresent()) {
            ChannelMessage.refused("already_logged", "host " + config.hostId() + " already logged migration " + id)
                    .writeTo(conn.out());
            return;
        }
        MigrationView local = run == null ? null : run.view(config.hostId());
        List<String> notes = local == null ? List.of() : local.anomalies();
        String localOutcome = local == null ? null : local.outcome();
        String localReason = local == null ? null : local.reason();
        SignedAttestation mine;
        try {
            mine = backend.countersignAttestation(id, msg.fields());
        } catch (HypervisorException e) {
            if (pending != null) {
                logAlone(pending.run, pending.own, "its hypervisor did not countersign the source's proposal: "
                        + e.getMessage());
            }
            ChannelMessage.refused("not_countersigned", "the hypervisor of host " + config.hostId()
                    + " refused to countersign: " + e.getMessage()).withNotes(notes)
                    .withOutcome(localOutcome, localReason).writeTo(conn.out());
            return;
        }
        SignedRecord both = SignedRecord.unsigned(rec).withSignature(Side.SOURCE, msg.signature())
                .withSignature(Side.DESTINATION, mine.signature());
        store.rememberAk(msg.akChain());
        Long index = null;
        String note = null;
        try {
            index = store.append(both);
        } catch (HypervisorException | IOException e) {
            note = "not logged: " + e.getMessage();
        }
        if (run != null) {
            if (index != null) {
                run.attested(index, null, rec.outcome().name(), rec.reasonName(), true);
            } else {
                run.attested(null, note);
            }
            events.publish("attestation", run.view(config.hostId()));
        }
        List<byte[]> chain;
        try {
            chain = backend.identity().attestationChain();
        } catch (HypervisorException e) {
            chain = List.of();
        }
        new ChannelMessage(null, id.toString(), null, null, null, null, mine.signature(), chain, null, true, null,
                null, notes, localOutcome, localReason).writeTo(conn.out());
    }

    /**
     * A source in doubt re-serves its RELEASE token: the hypervisor imports it (resuming the verified copy if it is
     * still READY) and this host answers with its DONE token, or with its ABORT token if it had aborted.
     */
    private void acceptToken(ChannelConnection conn, ChannelMessage msg) throws IOException {
        MigrationId id;
        try {
            id = MigrationId.parse(String.valueOf(msg.migrationId()));
        } catch (IllegalArgumentException e) {
            ChannelMessage.refused("invalid_token", e.getMessage()).writeTo(conn.out());
            return;
        }
        MigrationDecision d;
        try {
            d = backend.importToken(msg.token());
        } catch (HypervisorException e) {
            d = null;
            LOG.info("migration {}: the token from {} was not applied: {}", shortId(id.toString()),
                    conn.peer().name(), e.getMessage());
        }
        try {
            MigrationDecision now = d != null ? d : decision(id).orElse(null);
            if (now != null && now.state() == MigrationState.COMMITTED) {
                ChannelMessage.accepted().withToken(backend.exportToken(id, TokenKind.DONE)).writeTo(conn.out());
                return;
            }
            if (now != null && now.state() == MigrationState.ABORTED_BY_DESTINATION) {
                ChannelMessage.accepted().withToken(backend.exportToken(id, TokenKind.ABORT)).writeTo(conn.out());
                return;
            }
            if (now != null && now.state() == MigrationState.ABORTED_BY_SOURCE) {
                ChannelMessage.accepted().writeTo(conn.out()); // the source's ABORT was applied (zeroized here)
                return;
            }
            ChannelMessage.refused("undecided", "host " + config.hostId() + " holds migration " + id + " as "
                    + (now == null ? "unknown" : now.state() + ": " + now.detail())).writeTo(conn.out());
        } catch (HypervisorException e) {
            ChannelMessage.refused("refused", e.getMessage()).writeTo(conn.out());
        }
    }

    // ---- in doubt and recovery ----------------------------------------------------------------------------------

    Optional<MigrationDecision> decision(MigrationId id) throws HypervisorException {
        for (MigrationDecision d : backend.decisions()) {
            if (d.id().equals(id)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /**
     * After a restart: migrations the hypervisor recorded as running, whose engine died with the previous agent.
     * Before RELEASE the source aborts and resumes the VM, the destination aborts and zeroizes; after RELEASE the
     * source is in doubt and the periodic resolver re-serves RELEASE to the destination.
     */
    private void recover() {
        List<MigrationDecision> open;
        try {
            open = backend.decisions().stream().filter(d -> !d.state().isFinal()).toList();
        } catch (HypervisorException e) {
            setupProblems.add("the hypervisor did not list its migration decisions: " + e.getMessage());
            return;
        }
        for (MigrationDecision d : open) {
            String sid = shortId(d.id().toString());
            try {
                if (d.role() == MigrationRole.SOURCE) {
                    switch (d.state()) {
                        case HANDSHAKE, PRECOPY, FROZEN -> {
                            if (!abortWithoutSession(d)) {
                                SourceSession s = backend.sourceSession(d.id());
                                s.abort(ProtocolException.Reason.DEADLINE, "the agent restarted during the"
                                        + " migration");
                                resumeIfPaused(d.domId());
                                LOG.info("migration {} of {}: the previous agent died in {}; aborted at the source"
                                        + " and the VM resumed here", sid, d.vmName(), d.state());
                                // first, so that the destination settles before it is asked to countersign; only
                                // where this host still had the VM (never the destination's copy as the last one)
                                if (d.domId() >= 0) {
                                    deliverAbort(d);
                                }
                                recordRecovered(d, MigrationOutcome.ABORTED_BY_SOURCE, "the agent restarted during"
                                        + " the migration (" + d.state() + "): aborted before RELEASE");
                            }
                        }
                        case RELEASED -> LOG.warn("migration {} of {} is RELEASED without DONE: in doubt; RELEASE"
                                + " will be re-served to {}", sid, d.vmName(), d.peerHostId().orElse("the peer"));
                        default -> LOG.warn("migration {} of {} is {} at the source: {}", sid, d.vmName(), d.state(),
                                d.detail());
                    }
                } else {
                    switch (d.state()) {
                        case HANDSHAKE, PRECOPY -> {
                            if (!abortWithoutSession(d)) {
                                backend.destinationSession(d.id()).abort(ProtocolException.Reason.DEADLINE,
                                        "the agent restarted while receiving");
                                LOG.info("migration {} of {}: the previous agent died while receiving; aborted and"
                                        + " zeroized here", sid, d.vmName());
                                recordRecovered(d, MigrationOutcome.ABORTED_BY_DESTINATION, "the agent restarted"
                                        + " while receiving: aborted before READY");
                            }
                        }
                        case READY -> {
                            // with its session alive the verified copy waits for RELEASE (the source re-serves
                            // it) or its deadline; after a host restart the copy died with the RAM
                            abortWithoutSession(d);
                        }
                        default -> LOG.warn("migration {} of {} is {} at the destination: {}", sid, d.vmName(),
                                d.state(), d.detail());
                    }
                }
            } catch (HypervisorException e) {
                LOG.warn("migration {} of {}: could not settle it after the restart: {}", sid, d.vmName(),
                        e.getMessage());
            }
        }
    }

    /**
     * The hypervisor itself restarted (the whole host crashed): its sessions and the VM's memory are gone, only the
     * sealed decision is left. Before RELEASE (source) or before resuming (destination) this host may still decide
     * ABORT, which it does through the hypervisor's ABORT token; nothing is resumed, since no copy is left here.
     * The ABORT is not carried to the peer from a source: a destination holding a verified copy keeps it until its
     * own deadline, so that an operator can still run it with a fence.
     *
     * @return false if the session is alive (an agent restart only): the caller settles it in session
     */
    private boolean abortWithoutSession(MigrationDecision d) throws HypervisorException {
        try {
            if (d.role() == MigrationRole.SOURCE) {
                backend.sourceSession(d.id());
            } else {
                backend.destinationSession(d.id());
            }
            return false;
        } catch (HypervisorException e) {
            if (e.reason() != HypervisorException.Reason.NOT_FOUND) {
                throw e;
            }
        }
        boolean source = d.role() == MigrationRole.SOURCE;
        MigrationOutcome outcome = source ? MigrationOutcome.ABORTED_BY_SOURCE
                : MigrationOutcome.ABORTED_BY_DESTINATION;
        try {
            backend.exportToken(d.id(), TokenKind.ABORT); // decides the abort where the hypervisor still may
        } catch (HypervisorException e) {
            // e.g. a handshake that never completed: nothing of the VM left here, nothing the peer can hold either
            LOG.warn("migration {} of {}: the hypervisor restarted in {} and did not record ABORT: {}",
                    shortId(d.id().toString()), d.vmName(), d.state(), e.getMessage());
            return true;
        }
        LOG.info("migration {} of {}: the host restarted in {}; the VM's memory was lost with it, aborted here",
                shortId(d.id().toString()), d.vmName(), d.state());
        recordRecovered(d, outcome, "the host restarted during the migration (" + d.state() + "): its copy was"
                + " lost with the host's memory; aborted " + (source ? "before RELEASE" : "before resuming"));
        return true;
    }

    /**
     * Carries this source's ABORT token to the destination, so that a destination still holding the migration
     * (its stream lost with a crashed agent) zeroizes now instead of at its READY deadline. Retried by the resolver
     * until the destination's agent answers.
     */
    private void deliverAbort(MigrationDecision d) {
        if (d.peerHostId().isPresent()) {
            abortsToDeliver.put(d.id(), d.peerHostId().get());
            deliverAborts(); // now; the resolver's timer retries while the destination's agent is away
        }
    }

    private void deliverAborts() {
        synchronized (abortsToDeliver) { // one delivery round at a time; never under the agent's own monitor
            deliverAbortsNow();
        }
    }

    private void deliverAbortsNow() {
        for (Map.Entry<MigrationId, String> e : List.copyOf(abortsToDeliver.entrySet())) {
            MigrationId id = e.getKey();
            String peer = e.getValue();
            try {
                byte[] abort = backend.exportToken(id, TokenKind.ABORT);
                Optional<InetSocketAddress> address = peers.address(peer);
                if (address.isEmpty()) {
                    abortsToDeliver.remove(id);
                    continue;
                }
                try (ChannelConnection c = channel.connect(address.get(), peer, "token " + shortId(id.toString()))) {
                    c.setReadTimeout(config.channelHandshakeTimeout().multipliedBy(3));
                    ChannelMessage.request("token", id.toString()).withToken(abort).writeTo(c.out());
                    ChannelMessage answer = ChannelMessage.readFrom(c.in(), "agent " + peer);
                    LOG.info("migration {}: ABORT carried to {}: {}", shortId(id.toString()), peer, answer.isOk()
                            ? "applied" : answer.message());
                }
                abortsToDeliver.remove(id);
            } catch (HypervisorException ex) {
                abortsToDeliver.remove(id); // no ABORT token here: nothing to carry
            } catch (IOException | TlsSetupException ex) {
                LOG.debug("migration {}: ABORT not carried to {} yet: {}", shortId(id.toString()), peer,
                        ex.getMessage());
            }
        }
    }

    /**
     * Migrations the hypervisor settled while no agent of this host followed them (it died first, or the
     * hypervisor decided alone, e.g. at its READY deadline): their records go to this host's log. As source the
     * record is proposed to the destination for its countersignature; as destination a COMMITTED record waits for
     * the source's proposal like one settled in session, an aborted one is logged with this host's signature.
     */
    void attestUnrecorded() {
        if (closed) {
            return;
        }
        List<MigrationDecision> settled;
        try {
            // a fenced migration's record is the operator's fence bundle: the hypervisor signs none
            settled = backend.decisions().stream().filter(d -> d.state().isFinal()
                    && d.state() != MigrationState.FENCED).toList();
        } catch (HypervisorException e) {
            return;
        }
        for (MigrationDecision d : settled) {
            String id = d.id().toString();
            if (attestAttempted.contains(d.id()) || awaitingProposal.containsKey(id)
                    || store.indexOf(id).isPresent()) {
                continue;
            }
            MigrationRun existing;
            synchronized (migrations) {
                existing = migrations.get(id);
            }
            if (existing != null && (existing.done.getCount() > 0 || existing.view(config.hostId()).inDoubt()
                    || existing.view(config.hostId()).attestation() != null)) {
                continue; // in the hands of its engine, or of an in-doubt settlement
            }
            attestAttempted.add(d.id());
            try {
                attestSettledAlone(d, existing);
            } catch (RuntimeException e) {
                LOG.warn("migration {}: its record could not be logged: {}", shortId(id), e.getMessage());
            }
        }
    }

    private void attestSettledAlone(MigrationDecision d, MigrationRun existing) {
        String id = d.id().toString();
        SignedAttestation own;
        AttestationRecord rec;
        try {
            own = backend.signAttestation(d.id(), new byte[0]);
            rec = AttestationRecord.fromCanonicalBytes(own.fields());
        } catch (HypervisorException | ProtocolException e) {
            LOG.warn("migration {} of {}: the hypervisor settled it ({}) but gives no record: {}", shortId(id),
                    d.vmName(), d.state(), e.getMessage());
            return;
        }
        boolean source = d.role() == MigrationRole.SOURCE;
        MigrationOutcome outcome = MigrationOutcome.valueOf(rec.outcome().name());
        String reason = "settled by the hypervisor of host " + config.hostId() + " while no agent followed it ("
                + d.state() + ": " + d.detail() + ")";
        MigrationRun run = existing;
        if (run == null) {
            String peer = d.peerHostId().orElse("unknown");
            run = new MigrationRun(id, source ? MigrationRun.SOURCE : MigrationRun.DESTINATION, d.vmName(),
                    source ? config.hostId() : peer, source ? peer : config.hostId(), MigrationMode.SECURE, null,
                    clock.instant());
            run.settle(new MigrationSummary(id, d.vmName(), MigrationMode.SECURE, outcome, reason, List.of(), 0,
                    downtimeOf(rec), List.of()), false, clock.instant());
            register(run);
        }
        LOG.info("migration {} of {}: {} while no agent followed it; logging its record", shortId(id), d.vmName(),
                d.state());
        if (source) {
            if (!run.destinationHost.equals("unknown")) {
                exchangeAttestation(run, own);
            } else {
                logAlone(run, own, "settled while no agent followed it");
            }
            finished(run);
        } else if (outcome == MigrationOutcome.COMMITTED) {
            finished(run);
            PendingAttestation p = new PendingAttestation(run, own);
            awaitingProposal.put(id, p);
            timers.schedule(() -> logPendingAlone(p), proposalWaitMillis(own), TimeUnit.MILLISECONDS);
        } else {
            logAlone(run, own, "settled while no agent followed it");
            finished(run);
        }
    }

    private void resumeIfPaused(int domId) {
        if (domId < 0) {
            return;
        }
        try {
            if (backend.domainInfo(domId).state() == DomainState.PAUSED) {
                backend.resume(domId);
            }
        } catch (HypervisorException e) {
            LOG.warn("domain {} could not be resumed after the abort: {}", domId, e.getMessage());
        }
    }

    private void recordRecovered(MigrationDecision d, MigrationOutcome outcome, String reason) {
        boolean source = d.role() == MigrationRole.SOURCE;
        String peer = d.peerHostId().orElse("unknown");
        MigrationRun run = new MigrationRun(d.id().toString(), source ? MigrationRun.SOURCE
                : MigrationRun.DESTINATION, d.vmName(), source ? config.hostId() : peer,
                source ? peer : config.hostId(), MigrationMode.SECURE, null, clock.instant());
        SignedAttestation own = signSettled(run);
        run.settle(new MigrationSummary(run.id, run.vm, MigrationMode.SECURE, outcome, reason, List.of(), 0,
                downtimeOf(own), List.of()), false, clock.instant());
        register(run);
        attestSettled(run, own);
        finished(run);
    }

    /**
     * The downtime the hypervisor recorded in its signed record of a migration whose engine did not see it end: the
     * pause and resume times (a source that aborted and resumed the VM after a crash or the peer's token), in
     * nanoseconds; 0 if it has not both (a destination never paused the VM; a committed source never resumed it).
     */
    static long downtimeOf(SignedAttestation own) {
        if (own == null) {
            return 0;
        }
        try {
            return downtimeOf(AttestationRecord.fromCanonicalBytes(own.fields()));
        } catch (ProtocolException e) {
            return 0;
        }
    }

    static long downtimeOf(AttestationRecord rec) {
        if (rec.paused().isEmpty() || rec.resumed().isEmpty()) {
            return 0;
        }
        long ms = Duration.between(rec.paused().get(), rec.resumed().get()).toMillis();
        return Math.max(0, ms) * 1_000_000L;
    }

    /** The hypervisor's signed record of a migration settled outside its engine; null (noted on the run) if none. */
    private SignedAttestation signSettled(MigrationRun run) {
        try {
            return backend.signAttestation(MigrationId.parse(run.id), new byte[0]);
        } catch (HypervisorException e) {
            run.attested(null, "no record: " + e.getMessage());
            return null;
        }
    }

    /** A migration settled outside its engine run: exchange (as source) or log alone its signed record. */
    private void attestSettled(MigrationRun run, SignedAttestation a) {
        if (a == null) {
            return;
        }
        if (run.role.equals(MigrationRun.SOURCE) && !run.destinationHost.equals("unknown")) {
            exchangeAttestation(run, a);
        } else {
            logAlone(run, a, "settled after an agent restart");
        }
    }

    /** Retries every migration this host holds RELEASED without DONE: RELEASE to the peer, its answer back. */
    void resolveInDoubt() {
        if (closed) {
            return;
        }
        List<MigrationDecision> released;
        try {
            released = backend.decisions().stream().filter(d -> d.role() == MigrationRole.SOURCE
                    && d.state() == MigrationState.RELEASED && d.peerHostId().isPresent()).toList();
        } catch (HypervisorException e) {
            return;
        }
        for (MigrationDecision d : released) {
            MigrationRun running;
            synchronized (migrations) {
                running = migrations.get(d.id().toString());
            }
            if (running != null && running.done.getCount() > 0) {
                continue; // its engine still waits for DONE
            }
            String peer = d.peerHostId().get();
            try {
                byte[] release = backend.exportToken(d.id(), TokenKind.RELEASE);
                Optional<InetSocketAddress> address = peers.address(peer);
                if (address.isEmpty()) {
                    continue;
                }
                ChannelMessage answer;
                try (ChannelConnection c = channel.connect(address.get(), peer, "token " + shortId(d.id()
                        .toString()))) {
                    c.setReadTimeout(config.channelHandshakeTimeout().multipliedBy(3));
                    ChannelMessage.request("token", d.id().toString()).withToken(release).writeTo(c.out());
                    answer = ChannelMessage.readFrom(c.in(), "agent " + peer);
                }
                if (!answer.isOk() || answer.token() == null) {
                    LOG.info("migration {} still in doubt: {}", shortId(d.id().toString()), answer.message());
                    continue;
                }
                MigrationDecision after = backend.importToken(answer.token());
                LOG.info("migration {} of {}: resolved with {}'s token: {}", shortId(d.id().toString()), d.vmName(),
                        peer, after.state());
                settleResolved(d, after);
            } catch (HypervisorException | IOException | TlsSetupException e) {
                LOG.debug("migration {} in doubt, retry later: {}", shortId(d.id().toString()), e.getMessage());
            }
        }
    }

    /**
     * After an operator imported a token through the API: a source that was RELEASED and is now settled (the
     * destination's DONE or ABORT token) is settled here as the resolver would have (its VM resumed after an ABORT,
     * its copy discarded after DONE, its record logged).
     */
    void afterTokenImport(MigrationDecision before, MigrationDecision after) {
        if (before != null && before.role() == MigrationRole.SOURCE && before.state() == MigrationState.RELEASED
                && (after.state() == MigrationState.COMMITTED
                        || after.state() == MigrationState.ABORTED_BY_DESTINATION)) {
            timers.execute(() -> settleResolved(before, after)); // on the resolver's thread: never twice at once
        }
    }

    private void settleResolved(MigrationDecision before, MigrationDecision after) {
        if (!settled.add(before.id())) {
            return; // the resolver and an operator's import may both have got there
        }
        MigrationRun run;
        synchronized (migrations) {
            run = migrations.get(before.id().toString());
        }
        MigrationOutcome outcome = after.state() == MigrationState.COMMITTED ? MigrationOutcome.COMMITTED
                : MigrationOutcome.ABORTED_BY_DESTINATION;
        if (outcome == MigrationOutcome.ABORTED_BY_DESTINATION) {
            resumeIfPaused(after.domId());
        }
        if (run == null) {
            recordRecovered(after, outcome, "resolved after RELEASE with the peer's token: " + after.detail());
            return;
        }
        MigrationView v = run.view(config.hostId());
        MigrationSummary was = run.summary();
        // signed once the VM resumed (an abort): the record's resume time is in it
        SignedAttestation own = signSettled(run);
        MigrationSummary s = new MigrationSummary(run.id, run.vm, run.mode, outcome, outcome
                == MigrationOutcome.COMMITTED ? "completed (DONE arrived with the re-served RELEASE)"
                        : "the destination had aborted: " + after.detail(), was == null ? List.of() : was.rounds(),
                was == null ? 0 : was.totalNanos(), was != null && was.downtimeNanos() > 0 ? was.downtimeNanos()
                        : downtimeOf(own), v.anomalies());
        run.settle(s, false, clock.instant());
        if (outcome == MigrationOutcome.COMMITTED) {
            try {
                backend.destroyDomain(after.domId());
            } catch (HypervisorException e) {
                // already gone or refused; the inventory shows it
            }
        }
        attestSettled(run, own);
        finished(run);
    }

    /** {@code GET /v1/in-doubt}: what the hypervisor has not settled, with what to do. */
    List<InDoubtView> inDoubt() {
        List<InDoubtView> out = new ArrayList<>();
        try {
            for (MigrationDecision d : backend.decisions()) {
                if (!d.inDoubt() && d.state().isFinal()) {
                    continue;
                }
                if (!d.inDoubt() && d.state() != MigrationState.RELEASED && d.state() != MigrationState.READY) {
                    continue;
                }
                out.add(new InDoubtView(d.id().toString(), d.role().name().toLowerCase(java.util.Locale.ROOT),
                        d.vmName(), d.peerHostId().orElse(null), d.state().name(), d.inDoubt(), d.detail(),
                        d.manifestDigest().orElseGet(() -> manifestDigest(d.id())),
                        d.peerAkFingerprint().orElse(null)));
            }
        } catch (HypervisorException e) {
            throw hypervisorRefusal(e, "list its migration decisions");
        }
        return out;
    }

    private String manifestDigest(MigrationId id) {
        // never ABORT here: exporting an ABORT token where none exists decides the abort
        for (TokenKind k : List.of(TokenKind.RELEASE, TokenKind.DONE)) {
            try {
                byte[] t = backend.exportToken(id, k);
                var token = org.sealift.protocol.token.Token.decode(t);
                return token.hasManifest() ? Hex.encode(token.manifestDigest()) : null;
            } catch (HypervisorException | ProtocolException e) {
                // no such token here; try the next kind
            }
        }
        return null;
    }

    /**
     * One unsettled migration; {@code peerAkFingerprint} is the AK an operator's fence would declare lost
     * ('sealift ca fence --lost-ak').
     */
    record InDoubtView(String id, String role, String vm, String peer, String state, boolean inDoubt, String detail,
            String manifestDigest, String peerAkFingerprint) {
    }

    // ---- registry, events, history ------------------------------------------------------------------------------

    private void register(MigrationRun run) {
        synchronized (migrations) {
            migrations.put(run.id, run);
        }
    }

    MigrationRun migration(String id) {
        synchronized (migrations) {
            MigrationRun r = migrations.get(id);
            if (r == null) {
                for (MigrationRun m : migrations.values()) {
                    if (m.id.startsWith(id) && id.length() >= 8) {
                        return m;
                    }
                }
                throw ApiException.notFound("no migration " + id + " on host " + config.hostId()
                        + "; 'GET /v1/migrations' lists them");
            }
            return r;
        }
    }

    List<MigrationRun> migrations() {
        synchronized (migrations) {
            List<MigrationRun> out = new ArrayList<>(migrations.values());
            java.util.Collections.reverse(out);
            return out;
        }
    }

    private Consumer<String> note(MigrationRun run) {
        return text -> {
            run.anomaly(text);
            LOG.warn("migration {}: {}", shortId(run.id), text);
            events.publish("anomaly", new AnomalyEvent(run.id, run.vm, config.hostId(), text, clock.millis()));
        };
    }

    /** {@code at}: when the agent saw it, milliseconds since the epoch (a replayed event keeps its time). */
    record PhaseEvent(String migrationId, String vm, String host, String role, String phase, long at) {
    }

    record RoundEvent(String migrationId, String vm, String host, String role, MigrationRun.RoundView round,
            long at) {
    }

    record AnomalyEvent(String migrationId, String vm, String host, String detail, long at) {
    }

    private MigrationListener listener(MigrationRun run) {
        return e -> {
            if (e instanceof MigrationEvent.PhaseChanged p) {
                if (p.phase() == MigrationPhase.FINISHED) {
                    return; // the outcome event says it, with the result
                }
                run.phase(p.phase());
                LOG.info("migration {} of {} {} -> {}: {}", shortId(run.id), run.vm, run.sourceHost,
                        run.destinationHost, p.phase());
                events.publish("phase", new PhaseEvent(run.id, run.vm, config.hostId(), run.role, p.phase().name(),
                        clock.millis()));
            } else if (e instanceof MigrationEvent.RoundCompleted r) {
                run.round(r.stats());
                events.publish("round", new RoundEvent(run.id, run.vm, config.hostId(), run.role,
                        MigrationRun.RoundView.of(r.stats()), clock.millis()));
            } else if (e instanceof MigrationEvent.AnomalySeen a) {
                run.anomaly(a.kind() + ": " + a.detail());
                events.publish("anomaly", new AnomalyEvent(run.id, run.vm, config.hostId(), a.kind() + ": "
                        + a.detail(), clock.millis()));
            }
        };
    }

    private void finished(MigrationRun run) {
        run.done.countDown();
        MigrationView v = run.view(config.hostId());
        LOG.info("migration {} of {} {} -> {}: {} ({}){}", shortId(run.id), run.vm, run.sourceHost,
                run.destinationHost, v.inDoubt() ? "IN DOUBT" : v.outcome(), v.reason(),
                v.attestation() == null ? "" : ", attestation " + v.attestation());
        events.publish("outcome", v);
        appendHistory(v);
    }

    private synchronized void appendHistory(MigrationView v) {
        try {
            Files.writeString(config.dataDir().resolve(HISTORY_FILE), Json.writeString(v) + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.warn("cannot append to the migration history in {}: {}", config.dataDir(), e.getMessage());
        }
    }

    private void loadHistory() {
        Path f = config.dataDir().resolve(HISTORY_FILE);
        if (!Files.exists(f)) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            for (String line : lines.subList(Math.max(0, lines.size() - HISTORY_KEPT), lines.size())) {
                try {
                    MigrationView v = Json.mapper().readValue(line, MigrationView.class);
                    register(MigrationRun.restored(v));
                } catch (IOException | RuntimeException e) {
                    // a torn last line after a crash: skip it
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot read the migration history {}: {}", f, e.getMessage());
        }
    }

    static String shortId(String id) {
        return id.length() > 8 ? id.substring(0, 8) : id;
    }

    /**
     * Graceful stop: no new migrations; migrations this host sends are cancelled (ABORT before RELEASE, the VM
     * resumes here) and given a few seconds; then the agent detaches. The hypervisor and its VMs keep running.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timers.shutdownNow();
        for (MigrationRun r : migrations()) {
            SourceMigration e = r.engine();
            if (e != null && r.done.getCount() > 0) {
                e.cancel();
            }
        }
        runs.shutdown();
        try {
            runs.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        runs.shutdownNow();
        attachment.close();
    }

    Instant now() {
        return clock.instant();
    }

    /**
     * How long the source waits for the answer to a migration offer: the channel's handshake deadline plus
     * {@value #OFFER_PREPARE_MS_PER_MIB} ms per MiB of the VM, because the destination creates the incoming domain
     * (its memory) before it answers, and a 4 GiB VM on a loaded host legitimately takes longer than 10 s for that.
     */
    private Duration offerAnswerTimeout(int memoryMiB) {
        return config.channelHandshakeTimeout().plusMillis((long) memoryMiB * OFFER_PREPARE_MS_PER_MIB);
    }

    static final long OFFER_PREPARE_MS_PER_MIB = 10;
}
