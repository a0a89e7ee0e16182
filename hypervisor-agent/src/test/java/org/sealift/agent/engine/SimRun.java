package org.sealift.agent.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.sealift.agent.engine.attack.BackendInterposer;
import org.sealift.agent.engine.attack.StreamInterposer;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.SourceSession;
import org.sealift.model.MigrationEvent;
import org.sealift.model.MigrationOptions;
import org.sealift.protocol.attest.AttestationRecord;

/**
 * One migration between two simulated hosts driven by the real engine on both ends, optionally with a malicious
 * dom0 on the stream and on either backend interface. It records what a test needs to judge the result: both
 * engines' results, the protected-memory digests at the source's freeze and at the destination's verification,
 * the domain ids, and the attestation records.
 */
public final class SimRun {

    public final HypervisorBackend srcHost;
    public final HypervisorBackend dstHost;
    public final DomainConfig config;
    public final int srcDom;
    public MigrationOptions options;
    public EngineConfig engine = EngineConfig.DEFAULTS.withDeadlines(Deadlines.all(java.time.Duration.ofSeconds(20)));
    public StreamInterposer.Tamper tamper = StreamInterposer.Tamper.NONE;
    public StreamInterposer.HeaderTamper headerTamper = StreamInterposer.HeaderTamper.NONE;
    public BackendInterposer.Hook srcHook = (call, result) -> { };
    public BackendInterposer.Hook dstHook = (call, result) -> { };

    // filled in by run()
    public BackendInterposer srcInterposer;
    public BackendInterposer dstInterposer;
    public StreamInterposer stream;
    public volatile SourceSession sourceSession;
    /** The migration id, captured while the sessions still answered (a crashed agent's sessions do not). */
    public volatile org.sealift.agent.spi.MigrationId migrationId;
    public volatile DestinationSession destinationSession;
    public volatile byte[] digestAtFreeze;
    public volatile byte[] digestAtReady;
    public final List<MigrationEvent> sourceEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
    public MigrationResult source;
    public MigrationResult destination;
    public Throwable sourceCrash;
    public Throwable destinationCrash;
    public int dstDom = -1;
    /** The source engine, once {@link #run()} created it (tests cancel through it). */
    public volatile SourceMigration sourceMigration;
    /** Take protected-memory digests (needs hypervisors started with diagnostics). */
    public boolean digests = true;

    public SimRun(HypervisorBackend srcHost, HypervisorBackend dstHost, DomainConfig config, int srcDom,
            MigrationOptions options) {
        this.srcHost = srcHost;
        this.dstHost = dstHost;
        this.config = config;
        this.srcDom = srcDom;
        this.options = options;
    }

    public SimRun run() throws Exception {
        boolean diagnostics = digests;
        srcInterposer = new BackendInterposer(srcHost, (call, result) -> {
            if (result instanceof SourceSession s) {
                sourceSession = s;
                migrationId = s.id();
            }
            if (call.equals("source.manifest") && diagnostics) {
                digestAtFreeze = srcHost.protectedMemoryDigest(srcDom);
            }
            srcHook.after(call, result);
        });
        dstInterposer = new BackendInterposer(dstHost, (call, result) -> {
            if (result instanceof DestinationSession d) {
                destinationSession = d;
                dstDom = d.domId();
            }
            if (call.equals("destination.onHello")) {
                migrationId = destinationSession.id();
            }
            if (call.equals("backend.createDomain")) {
                dstDom = ((org.sealift.agent.spi.DomainInfo) result).domId();
            }
            if (call.equals("destination.onManifest") && diagnostics) {
                digestAtReady = dstHost.protectedMemoryDigest(dstDom);
            }
            dstHook.after(call, result);
        });
        Transport[] a = ChannelTransport.loopbackPair();
        Transport[] b = ChannelTransport.loopbackPair();
        stream = new StreamInterposer(a[1], b[0], tamper, headerTamper);
        // the destination is told who sends, as an agent names its TLS peer (a refusal record names that host)
        DestinationMigration d = new DestinationMigration(dstInterposer.backend(), config,
                Optional.of(srcHost.identity().hostId()), b[1],
                options.mode(), engine, List.of());
        // the source asks for the destination by name, as an agent does (its hypervisor then accepts no other host)
        SourceMigration s = new SourceMigration(srcInterposer.backend(), srcDom,
                Optional.of(dstHost.identity().hostId()), a[0], options,
                engine, List.of(sourceEvents::add));
        sourceMigration = s;
        CompletableFuture<MigrationResult> dr = CompletableFuture.supplyAsync(d::run);
        try {
            source = s.run();
        } catch (BackendInterposer.AgentCrashed e) {
            sourceCrash = e;
        }
        try {
            destination = dr.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof BackendInterposer.AgentCrashed) {
                destinationCrash = e.getCause();
            } else {
                throw e;
            }
        } finally {
            stream.close();
        }
        return this;
    }

    /** The record as the source's hypervisor proposed it (its own fields, the agent's statistics). */
    public static AttestationRecord record(MigrationResult r) throws Exception {
        SignedAttestation a = r.attestation().orElseThrow(
                () -> new AssertionError("no attestation: " + r.summary().anomalies()));
        return AttestationRecord.fromCanonicalBytes(a.fields());
    }

    public List<String> everything() {
        List<String> out = new ArrayList<>();
        if (source != null) {
            out.add("source: " + source.summary().outcome() + " / " + source.summary().reason() + " "
                    + source.summary().anomalies());
        }
        if (destination != null) {
            out.add("destination: " + destination.summary().outcome() + " / " + destination.summary().reason() + " "
                    + destination.summary().anomalies());
        }
        return out;
    }
}
