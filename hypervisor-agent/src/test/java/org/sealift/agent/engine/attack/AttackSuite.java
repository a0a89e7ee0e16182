package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.bench.SimCluster;
import org.sealift.agent.engine.Deadlines;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.Recovery;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOutcome;
import org.sealift.model.MigrationOptions;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AnomalyKind;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.LogVerifier;
import org.sealift.protocol.attest.VerificationResult;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.handshake.Suite;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.wire.RecordType;

/**
 * Shared ground of the end-to-end attack suite: two simulated hosts (hypervisor processes with diagnostics, so a
 * test can compare protected memory by digest), VMs with protected processes, and the checks every attack ends
 * with (PROTOCOL.md threat → test matrix): it was detected, the hypervisor-signed record carries the outcome and
 * reason, there are never two running copies, and a surviving complete copy runs with the memory the source sealed.
 */
abstract class AttackSuite {

    @TempDir
    static Path dir;
    static SimCluster cluster;
    static SimBackend h1;
    static SimBackend h2;
    static int vms;
    /** Hosts a test started outside the cluster (they count for {@link #runningCopies} too). */
    static final List<HypervisorBackend> outsiders = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Short deadlines so that stall tests finish; long enough for a 16 MiB migration on a loaded machine. */
    static final EngineConfig SHORT = EngineConfig.DEFAULTS.withDeadlines(new Deadlines(Duration.ofSeconds(8),
            Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(3)));

    /**
     * For tests where the source must be the one whose deadline passes (it waits for READY while the destination
     * waits for the MANIFEST or RELEASE): the destination's deadlines are longer than the source's paused one.
     */
    static final EngineConfig SOURCE_GIVES_UP_FIRST = EngineConfig.DEFAULTS.withDeadlines(new Deadlines(
            Duration.ofSeconds(8), Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofSeconds(10)));

    /**
     * For tests in which a copy must wait for a hand-carried token, a restarted agent or an operator's fence: the
     * destination keeps its verified copy for a minute after READY. The other deadlines never pass in these tests;
     * they are long so that a loaded machine's slow verification is not mistaken for a stall.
     */
    static final EngineConfig LONG_AFTER_READY = EngineConfig.DEFAULTS.withDeadlines(new Deadlines(
            Duration.ofSeconds(15), Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(60)));

    @BeforeAll
    static void startHosts() throws Exception {
        cluster = SimCluster.start(dir, true, "h1", "h2");
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
    }

    /** A test that crashed a host leaves it rebooted for the next one (sealed decisions survive, domains not). */
    @org.junit.jupiter.api.AfterEach
    void hostsUpAgain() throws Exception {
        if (!cluster.isUp("h1")) {
            h1 = cluster.boot("h1");
        }
        if (!cluster.isUp("h2")) {
            h2 = cluster.boot("h2");
        }
    }

    @AfterAll
    static void stopHosts() {
        cluster.close();
    }

    /** A 16 MiB VM with protected process "vault" (4 MiB at pfn 1024) whose contents stay still. */
    static DomainConfig quietVm() {
        return new DomainConfig("vm-" + (++vms), 16, 2, List.of(ProtectedProcessSpec.of("vault", 1024, 1024)),
                WorkloadSpec.idle(50).withNormal(1, 1000).withSecretMarker(0x5ea1L));
    }

    /** Like {@link #quietVm} but the protected process keeps rewriting 64 of its pages (new versions each round). */
    static DomainConfig busyVm() {
        return new DomainConfig("vm-" + (++vms), 16, 2, List.of(ProtectedProcessSpec.of("vault", 1024, 1024)),
                WorkloadSpec.idle(50).withNormal(1, 1000).withProtected(64, 5000).withSecretMarker(0x5ea1L));
    }

    /** Two protected processes, for attacks that move pages or contexts between them. */
    static DomainConfig twoProcessVm() {
        return new DomainConfig("vm-" + (++vms), 16, 2, List.of(ProtectedProcessSpec.of("vault", 1024, 512),
                ProtectedProcessSpec.of("keys", 2048, 512)), WorkloadSpec.idle(50).withSecretMarker(0x5ea1L));
    }

    static int running(HypervisorBackend host, DomainConfig c) throws HypervisorException {
        int id = host.createDomain(c).domId();
        host.resume(id);
        return id;
    }

    static SimRun secure(DomainConfig c) throws HypervisorException {
        int src = running(h1, c);
        SimRun r = new SimRun(h1, h2, c, src, MigrationOptions.defaults(MigrationMode.SECURE));
        r.engine = SHORT;
        return r;
    }

    static AttestationRecord record(MigrationResult r) throws Exception {
        return SimRun.record(r);
    }

    /** Running copies of the VM on both hosts: a domain with its name in state RUNNING. */
    static int runningCopies(String name) throws HypervisorException {
        int n = 0;
        List<HypervisorBackend> hosts = new ArrayList<>(cluster.running());
        hosts.addAll(outsiders);
        for (HypervisorBackend h : hosts) {
            for (DomainInfo d : h.listDomains()) {
                if (d.name().equals(name) && d.state() == DomainState.RUNNING) {
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * The checks after an attack that the destination detected before READY/RELEASE: both hypervisors recorded the
     * destination's abort with {@code reason}; the VM runs again at the source only, with the protected memory it had.
     */
    static void assertAbortedByDestination(SimRun m, Reason reason) throws Exception {
        String all = m.everything().toString();
        assertNotNull(m.source, all);
        assertNotNull(m.destination, all);
        AttestationRecord dst = record(m.destination);
        assertEquals(Outcome.ABORTED_BY_DESTINATION, dst.outcome(), all + " / " + dst);
        assertEquals(reason.name(), dst.reasonName(), all + " / " + dst);
        AttestationRecord src = record(m.source);
        assertEquals(Outcome.ABORTED_BY_DESTINATION, src.outcome(), all + " / " + src);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), "the VM runs again at the source");
        assertEquals(1, runningCopies(m.config.name()), "exactly one running copy");
        assertTrue(m.dstDom < 0 || h2.domainInfo(m.dstDom).state() != DomainState.RUNNING);
    }

    /** The source gave up (before RELEASE) with {@code reason} in its signed record; the VM runs at the source only. */
    static void assertAbortedBySource(SimRun m, Reason reason) throws Exception {
        String all = m.everything().toString();
        AttestationRecord src = record(m.source);
        assertEquals(Outcome.ABORTED_BY_SOURCE, src.outcome(), all + " / " + src);
        assertEquals(reason.name(), src.reasonName(), all + " / " + src);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state(), "the VM runs again at the source");
        assertEquals(1, runningCopies(m.config.name()), "exactly one running copy");
    }

    /** The VM never stopped, runs at the source only, and the destination never created a running copy. */
    static void assertRejectedAndStillRunning(SimRun m) throws Exception {
        assertEquals(MigrationOutcome.REJECTED, m.source.summary().outcome(), m.everything().toString());
        assertEquals(MigrationOutcome.REJECTED, m.destination.summary().outcome(), m.everything().toString());
        assertEquals(DomainState.RUNNING, m.srcHost.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertTrue(m.source.summary().rounds().isEmpty(), "no page left the source");
    }

    /**
     * Rejected in the handshake: {@link #assertRejectedAndStillRunning}, the end that caught it ({@code detector}: the
     * source or the destination result) gives {@code reason} with {@code detail}, and the source's hypervisor signed a
     * REJECTED record, with that reason when the source caught it. The destination's hypervisor signed a REJECTED
     * record too: with its own reason when it refused HELLO (G6; {@link #assertDestinationRejected}), else ending the
     * HELLO it had accepted. Both name the same migration, VM and pair of hosts, so the cross-check of the two logs
     * pairs them as records that may differ.
     */
    static AttestationRecord assertRejected(SimRun m, MigrationResult detector, Reason reason, String detail)
            throws Exception {
        assertRejectedAndStillRunning(m);
        String all = m.everything().toString();
        assertTrue(detector.summary().reason().startsWith(reason.name()), all);
        assertTrue(detector.summary().reason().contains(detail), all);
        AttestationRecord r = record(m.source);
        assertEquals(Outcome.REJECTED, r.outcome(), all + " / " + r);
        AttestationRecord d;
        if (detector == m.source) {
            assertEquals(reason.name(), r.reasonName(), all + " / " + r);
            // the destination had accepted HELLO; the source's refusal ends it there too (REJECTED: nothing verified)
            d = record(m.destination);
            assertEquals(Outcome.REJECTED, d.outcome(), all + " / " + d);
        } else {
            d = assertDestinationRejected(m, reason);
        }
        // what LogVerifier.crossCheck requires of two records of a migration that did not commit
        assertArrayEquals(r.migrationId(), d.migrationId(), "both records name the same migration");
        assertEquals(r.vmId(), d.vmId());
        assertEquals(r.source().hostId(), d.source().hostId(), r + " / " + d);
        assertEquals(r.destination().hostId(), d.destination().hostId(), r + " / " + d);
        // and the cross-check of the two hosts' logs pairs them as the documented difference
        AttestationLog atSource = AttestationLog.create(r.source().hostId());
        atSource.append(SignedRecord.unsigned(r).withSignature(Side.SOURCE,
                m.source.attestation().orElseThrow().signature()));
        AttestationLog atDestination = AttestationLog.create(d.destination().hostId());
        atDestination.append(SignedRecord.unsigned(d).withSignature(Side.DESTINATION,
                m.destination.attestation().orElseThrow().signature()));
        VerificationResult cross = new LogVerifier(cluster.ca().trust(), trustedBuildPolicy(), List.of())
                .crossCheck(atSource, atDestination);
        assertTrue(cross.ok(), cross.toString());
        assertTrue(cross.notes().stream().anyMatch(n -> n.contains("both hosts kept their own record")),
                cross.toString());
        return r;
    }

    /**
     * The destination refused HELLO and its hypervisor signed its own REJECTED record (G6): the reason is its own
     * ({@code reason}), the record verifies with the destination's AK, names the destination in full and the source
     * only by the host id the agent claimed (it was never authenticated), and the refusal is a final decision of the
     * destination's hypervisor that holds no lock and no running copy.
     */
    static AttestationRecord assertDestinationRejected(SimRun m, Reason reason) throws Exception {
        String all = m.everything().toString();
        SignedAttestation a = m.destination.attestation().orElseThrow(() -> new AssertionError(
                "the destination's hypervisor signed no record of the refusal: " + all));
        AttestationRecord r = AttestationRecord.fromCanonicalBytes(a.fields());
        assertEquals(Outcome.REJECTED, r.outcome(), all + " / " + r);
        assertEquals(reason.name(), r.reasonName(), all + " / " + r);
        String dst = m.dstHost.identity().hostId();
        assertTrue(r.detail().contains("HELLO refused by host " + dst), r.detail());
        X509Certificate ak = Certificates.parse(m.dstHost.identity().attestationChain().get(0));
        assertTrue(SignedRecord.unsigned(r).withSignature(Side.DESTINATION, a.signature())
                .verifies(Side.DESTINATION, ak.getPublicKey()), "signed with the destination's AK: " + r);
        assertEquals(dst, r.destination().hostId());
        assertArrayEquals(Certificates.fingerprint(ak), r.destination().akFingerprint());
        assertEquals(m.srcHost.identity().hostId(), r.source().hostId(), "the source as the agent named it");
        assertArrayEquals(new byte[32], r.source().akFingerprint(), "the source was not authenticated");
        MigrationDecision d = decision(m.dstHost, MigrationId.of(r.migrationId()));
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, d.state(), d.toString());
        for (DomainInfo info : m.dstHost.listDomains()) {
            if (info.name().equals(m.config.name())) {
                assertTrue(info.state() != DomainState.RUNNING, "nothing runs at the destination: " + info);
            }
        }
        return r;
    }

    /** Committed: the destination runs the VM, its verified copy is what the source sealed last. */
    static void assertCommittedIntact(SimRun m) throws Exception {
        String all = m.everything().toString();
        assertEquals(Outcome.COMMITTED, record(m.source).outcome(), all);
        assertEquals(Outcome.COMMITTED, record(m.destination).outcome(), all);
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state(), all);
        assertEquals(1, runningCopies(m.config.name()), "exactly one running copy");
        assertNotNull(m.digestAtFreeze, all);
        assertArrayEquals(m.digestAtFreeze, m.digestAtReady, "verified copy = what the source sealed last");
    }

    /** The record {@code host}'s hypervisor signs for a migration that has ended there (its own fields). */
    static AttestationRecord recordAt(HypervisorBackend host, MigrationId id) throws Exception {
        return AttestationRecord.fromCanonicalBytes(host.signAttestation(id, new byte[0]).fields());
    }

    /** {@code r} has {@code outcome} and the protocol reason {@code reason} (null: none, as for COMMITTED). */
    static AttestationRecord assertRecord(AttestationRecord r, Outcome outcome, Reason reason) {
        assertEquals(outcome, r.outcome(), r.toString());
        assertEquals(reason == null ? "" : reason.name(), r.reasonName(), r.toString());
        return r;
    }

    /** What {@code host}'s sealed state records for the migration. */
    static MigrationDecision decision(HypervisorBackend host, MigrationId id) throws HypervisorException {
        return host.decisions().stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow();
    }

    /** A new agent on the host (its own connection), as after a restart of the agent process. */
    static SimBackend newAgent(String host) throws HypervisorException {
        return SimBackend.attach(cluster.config(host).socket());
    }

    /** A hook that runs {@code crash} after the first {@code call} only. */
    static BackendInterposer.Hook once(String call, Runnable crash) {
        AtomicBoolean done = new AtomicBoolean();
        return (c, result) -> {
            if (c.equals(call) && done.compareAndSet(false, true)) {
                crash.run();
            }
        };
    }

    static void crashHost(String host) {
        try {
            cluster.crash(host);
        } catch (HypervisorException e) {
            throw new IllegalStateException("could not crash " + host, e);
        }
    }

    /** The restarted agent on {@code host} ends what its hypervisor still has open; returns what it did. */
    static List<Recovery.Action> restartAgent(String host) throws Exception {
        try (SimBackend agent = newAgent(host)) {
            return Recovery.run(agent);
        }
    }

    /**
     * When the first {@code type} record going {@code direction} passes dom0, {@code crash} happens (the agent or the
     * host at one end dies) and the record goes on: it was already on its way.
     */
    static StreamInterposer.Tamper onRecord(RecordType type, StreamInterposer.Direction direction, Runnable crash) {
        AtomicBoolean done = new AtomicBoolean();
        return (r, out) -> {
            boolean first = r.is(type) && r.direction == direction && done.compareAndSet(false, true);
            if (first) {
                crash.run();
            }
            out.forward(r);
        };
    }

    /**
     * A policy shaped like the cluster's (its suite, any host may receive any VM, valid for a day) with serial
     * {@code serial} admitting {@code measurements}; signed by the cluster CA when a host is to install it.
     */
    static Policy.Builder policy(long serial, byte[]... measurements) {
        Policy.Builder p = Policy.builder("engine-policy", serial)
                .validity(Instant.now().minusSeconds(3600), Instant.now().plus(Duration.ofDays(1)))
                .allowSuite(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.name()).allowReceive("*", "*");
        for (int i = 0; i < measurements.length; i++) {
            p.allowMeasurement(measurements[i], "build " + i);
        }
        return p;
    }

    /** What an auditor trusts: the cluster's current serial, admitting the build that h1 and h2 run. */
    static Policy trustedBuildPolicy() throws HypervisorException {
        return policy(h1.identity().policySerial(), h1.identity().measurement()).build();
    }

    static long anomalies(AttestationRecord r, AnomalyKind k) {
        var a = r.anomalies().get(k);
        return a == null ? 0 : a.count();
    }

    static String describe(Map<AnomalyKind, ?> m) {
        return new ArrayList<>(m.entrySet()).toString();
    }

    /** Removes both copies so that VM names never pile up across tests. */
    static void cleanup(SimRun m) {
        for (int[] d : new int[][] {{1, m.srcDom}, {2, m.dstDom}}) {
            if (d[1] < 0) {
                continue;
            }
            try {
                (d[0] == 1 ? h1 : h2).destroyDomain(d[1]);
            } catch (HypervisorException e) {
                // already gone or refused (a test asserts the states it cares about)
            }
        }
    }
}
