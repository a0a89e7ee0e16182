package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.sim.SimBackend;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Policy;

/**
 * Threat → test matrix, the policy rows end to end: a host whose hypervisor measurement the cluster policy does not
 * allow (row 24), and an old policy that dom0 replays to its hypervisor (row 25). The host h3 runs another build of
 * the hypervisor (started without test diagnostics, which are part of the measured configuration), is enrolled
 * properly (its AK certificate binds its true measurement) and holds the cluster's policy; only the policy does not
 * list its measurement.
 */
class PolicyAttackTest extends AttackSuite {

    static SimBackend h3;

    @BeforeAll
    static void startHostWithAnotherBuild() throws Exception {
        h3 = SimBackend.attachOrStart(cluster.config("h3").withDiagnostics(false));
        outsiders.add(h3);
        h3.installClusterTrust(cluster.ca().trust().toPem().getBytes(StandardCharsets.US_ASCII));
        AkEnrollment e = AkEnrollment.fromPem(new String(h3.createEnrollmentRequest(), StandardCharsets.US_ASCII));
        h3.installAttestationCertificate(Certificates.encodeChain(List.of(
                cluster.ca().issueAkCertificate(e, Instant.now(), Duration.ofDays(1)), cluster.ca().certificate())));
        assertFalse(java.util.Arrays.equals(h1.identity().measurement(), h3.identity().measurement()),
                "h3 must run another build than h1 and h2");
        publish(false);
    }

    @AfterAll
    static void stopHostWithAnotherBuild() {
        outsiders.remove(h3);
        long pid;
        try {
            pid = h3.hypervisorPid();
        } catch (HypervisorException e) {
            pid = -1; // already gone
        }
        h3.close();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /**
     * The operator's next policy (the cluster's next serial) on all three hosts: it allows the measurement of h1 and
     * h2, and that of h3 only if {@code admitH3}. Returns the signed policy, which dom0 sees and may keep.
     */
    static byte[] publish(boolean admitH3) throws Exception {
        cluster.publishPolicyTo(); // takes the cluster's next serial without installing its own policy
        byte[] trusted = h1.identity().measurement();
        long serial = h1.identity().policySerial() + 1;
        Policy.Builder p = admitH3 ? policy(serial, trusted, h3.identity().measurement()) : policy(serial, trusted);
        byte[] signed = cluster.ca().signPolicy(p.build()).encoded();
        for (HypervisorBackend h : List.of(h1, h2, h3)) {
            h.installPolicy(signed);
        }
        return signed;
    }

    static SimRun secureFrom(HypervisorBackend from, HypervisorBackend to) throws HypervisorException {
        var c = quietVm();
        SimRun m = new SimRun(from, to, c, running(from, c), MigrationOptions.defaults(MigrationMode.SECURE));
        m.engine = SHORT;
        m.digests = from != h3 && to != h3; // h3 has no test diagnostics
        return m;
    }

    static String notInPolicy(String host) {
        return "host " + host + " is not attested";
    }

    @Test
    void hostWhoseMeasurementIsNotInPolicyCannotReceive() throws Exception {
        SimRun m = secureFrom(h1, h3).run();
        assertRejected(m, m.source, Reason.POLICY, notInPolicy("h3"));
        assertTrue(m.source.summary().reason().contains("is not in policy"), m.everything().toString());
        for (var d : h3.listDomains()) {
            if (d.name().equals(m.config.name())) {
                assertThrows(HypervisorException.class, () -> h3.resume(d.domId()), "h3 never runs the VM: " + d);
            }
        }
        cleanup(m);
    }

    @Test
    void hostWhoseMeasurementIsNotInPolicyCannotSend() throws Exception {
        SimRun m = secureFrom(h3, h1).run();
        assertRejected(m, m.destination, Reason.POLICY, notInPolicy("h3"));
        assertTrue(m.destination.summary().reason().contains("is not in policy"), m.everything().toString());
        h3.destroyDomain(m.srcDom);
        cleanup(m);
    }

    @Test
    void oldPolicyReplayedToTheHypervisor() throws Exception {
        // the older policy still allowed h3's build; the newer one no longer does. dom0 kept the older one.
        byte[] old = publish(true);
        long oldSerial = h1.identity().policySerial();
        publish(false);
        long current = h1.identity().policySerial();
        HypervisorException replay = assertThrows(HypervisorException.class, () -> h1.installPolicy(old));
        assertEquals(Reason.REPLAY, replay.protocolReason().orElseThrow(), replay.getMessage());
        assertEquals(current, h1.identity().policySerial(), "the highest serial stays");

        // the replay changed nothing: h3's build is still refused at h1, which holds the newer policy
        SimRun fromH3 = secureFrom(h3, h1).run();
        assertRejected(fromH3, fromH3.destination, Reason.POLICY, notInPolicy("h3"));
        h3.destroyDomain(fromH3.srcDom);
        cleanup(fromH3);

        // nor does a restart make the hypervisor forget the highest serial (it is kept with the hardware)
        cluster.crash("h1");
        h1 = cluster.boot("h1");
        assertThrows(HypervisorException.class, () -> h1.installPolicy(old));
        assertEquals(current, h1.identity().policySerial());

        // and migrations between trusted hosts go on under the newer policy, which their records name
        SimRun m = secure(quietVm()).run();
        assertCommittedIntact(m);
        assertEquals(current, record(m.source).policySerial());
        assertTrue(record(m.source).policySerial() > oldSerial);
        assertArrayEquals(m.digestAtFreeze, h2.protectedMemoryDigest(m.dstDom));
        cleanup(m);
    }
}
