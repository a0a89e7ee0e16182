package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class PolicyTest {

    private final TestPki pki = new TestPki();

    private Policy full(long serial) {
        return pki.basePolicy(serial).allowSuite("SMP1-OTHER").allowMeasurement(TestPki.measurement(0x22), "")
                .allowReceive("rack2-*", "db-??").revoke(TestPki.measurement(0x33)).build();
    }

    @Test
    void canonicalBytesRoundTrip() throws Exception {
        Policy p = full(7);
        byte[] bytes = p.toCanonicalBytes();
        Policy back = Policy.fromCanonicalBytes(bytes);
        assertEquals(p, back);
        assertArrayEquals(bytes, back.toCanonicalBytes());
        assertEquals(7, back.serial());
        assertTrue(back.isRevoked(TestPki.measurement(0x33)));
        assertEquals("sim-hv-1.0", back.measurementName(pki.goodMeasurement).orElseThrow());
        SignedPolicy sp = SignedPolicy.parse(pki.ca.signPolicy(p).encoded());
        assertEquals(p, sp.verify(pki.ca.trust()));
        assertEquals(p, SignedPolicy.fromPem(sp.toPem()).verify(pki.ca.trust()));
    }

    @Test
    void nonCanonicalOrderIsRefused() {
        byte[] bytes = pki.basePolicy(1).allowSuite("A-SUITE").build().toCanonicalBytes();
        // swap the two suites' names in place (same length not needed: just flip order by editing first letter)
        String s = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        int i = s.indexOf("A-SUITE");
        bytes[i] = 'Z'; // "Z-SUITE" now sorts after "SMP1-...", breaking the strict order
        var e = assertThrows(ProtocolException.class, () -> Policy.fromCanonicalBytes(bytes));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("suites are not strictly ascending"), e.getMessage());
    }

    @Test
    void truncatedOrForgedCountIsMalformedNotAnAllocation() {
        byte[] bytes = full(1).toCanonicalBytes();
        for (int cut = 0; cut < bytes.length; cut++) {
            byte[] shorter = java.util.Arrays.copyOf(bytes, cut);
            var e = assertThrows(ProtocolException.class, () -> Policy.fromCanonicalBytes(shorter), "cut " + cut);
            assertEquals(Reason.MALFORMED, e.reason());
        }
        byte[] huge = new CanonicalWriter().blob(new byte[0]).toByteArray();
        huge[0] = 0x7f; // body length 2 GiB
        var e = assertThrows(ProtocolException.class, () -> SignedPolicy.parse(huge));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
    }

    @Test
    void policyChangedAfterSigningIsRefused() throws Exception {
        byte[] enc = pki.ca.signPolicy(full(2)).encoded();
        int i = new String(enc, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("rack2-*");
        enc[i + 4] = '9'; // "rack9-*": still canonical, now allows other hosts
        var e = assertThrows(ProtocolException.class, () -> SignedPolicy.parse(enc).verify(pki.ca.trust()));
        assertEquals(Reason.TAMPERED, e.reason());
        assertTrue(e.getMessage().contains("is not signed by the policy key of cluster CA CN=prod-cluster"));
    }

    @Test
    void policySignedWithTheCertificateKeyOrAnotherClusterIsRefused() throws Exception {
        TestPki other = new TestPki();
        var e = assertThrows(ProtocolException.class,
                () -> pki.store.accept(other.ca.signPolicy(full(9)), TestPki.NOW));
        assertEquals(Reason.TAMPERED, e.reason());
    }

    @Test
    void oldPolicyReplayedIsRefusedByTheMinimumSerialRule() throws Exception {
        SignedPolicy old = pki.ca.signPolicy(full(2));
        pki.store.accept(old, TestPki.NOW);
        pki.store.accept(pki.ca.signPolicy(full(3)), TestPki.NOW);
        var e = assertThrows(ProtocolException.class, () -> pki.store.accept(old, TestPki.NOW));
        assertEquals(Reason.REPLAY, e.reason());
        assertTrue(e.getMessage().contains("policy 'prod-2026' serial 2 is older than serial 3 already seen"),
                e.getMessage());
        assertEquals(3, pki.store.current(TestPki.NOW).serial());
    }

    @Test
    void oldPolicyReplayedAfterARestartIsStillRefused() throws Exception {
        // the hypervisor kept only the highest serial in its sealed state; dom0 offers the old policy file
        PolicyStore restarted = new PolicyStore(pki.ca.trust(), 5);
        var e = assertThrows(ProtocolException.class,
                () -> restarted.accept(pki.ca.signPolicy(full(4)), TestPki.NOW));
        assertEquals(Reason.REPLAY, e.reason());
        var none = assertThrows(ProtocolException.class, () -> restarted.current(TestPki.NOW));
        assertEquals(Reason.POLICY, none.reason());
        assertTrue(none.getMessage().contains("serial 5 or newer is required"), none.getMessage());
        assertEquals(5, restarted.accept(pki.ca.signPolicy(full(5)), TestPki.NOW).serial());
    }

    @Test
    void policyUpdateWithheldFromOneHostIsDetectedInTheHandshake() throws Exception {
        // h1 got serial 3; dom0 on h2 withheld it, so h2 still runs serial 1
        PolicyStore h1 = new PolicyStore(pki.ca.trust());
        h1.accept(pki.ca.signPolicy(full(3)), TestPki.NOW);
        PolicyStore h2 = pki.store;
        var atH1 = assertThrows(ProtocolException.class, () -> h1.checkPeerSerial("h2", 1));
        assertEquals(Reason.REPLAY, atH1.reason());
        assertTrue(atH1.getMessage().contains("host h2 uses policy serial 1, older than serial 3 here"));
        var atH2 = assertThrows(ProtocolException.class, () -> h2.checkPeerSerial("h1", 3));
        assertEquals(Reason.POLICY, atH2.reason());
        assertTrue(atH2.getMessage().contains("a policy update was withheld from this host; install policy serial 3"));
        h1.checkPeerSerial("h3", 3);
    }

    @Test
    void sameSerialWithDifferentContentIsRefused() throws Exception {
        pki.store.accept(pki.ca.signPolicy(full(4)), TestPki.NOW);
        pki.store.accept(pki.ca.signPolicy(full(4)), TestPki.NOW); // same again is harmless
        var e = assertThrows(ProtocolException.class, () -> pki.store.accept(
                pki.ca.signPolicy(full(4).toBuilder().allowReceive("*", "*").build()), TestPki.NOW));
        assertEquals(Reason.REPLAY, e.reason());
    }

    @Test
    void expiredPolicyIsRefusedAndDoesNotRaiseTheSerial() throws Exception {
        Policy expired = pki.basePolicy(8).validity(TestPki.NOW.minus(Duration.ofDays(10)),
                TestPki.NOW.minus(Duration.ofDays(1))).build();
        var e = assertThrows(ProtocolException.class, () -> pki.store.accept(pki.ca.signPolicy(expired), TestPki.NOW));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("policy 'prod-2026' serial 8 expired at"), e.getMessage());
        assertEquals(1, pki.store.highestSerialSeen());
    }

    @Test
    void receiveRulesDecideWhichHostsMayReceiveWhichVms() throws Exception {
        Policy p = full(1);
        assertTrue(p.mayReceive("h1", "vm-web"));
        assertTrue(p.mayReceive("rack2-07", "db-01"));
        assertFalse(p.mayReceive("rack2-07", "db-001"));
        assertFalse(p.mayReceive("rack3-01", "vm-web"));
        var e = assertThrows(ProtocolException.class, () -> p.checkReceive("rack3-01", "vm-web"));
        assertEquals(Reason.POLICY, e.reason());
        assertTrue(e.getMessage().contains("does not allow host rack3-01 to receive VM vm-web"), e.getMessage());
    }

    @Test
    void versionBelowMinimumOrSuiteOutsidePolicyIsADowngrade() throws Exception {
        Policy p = pki.basePolicy(1).minProtocolVersion(2).build();
        p.checkVersionAndSuite(2, TestPki.SUITE);
        assertEquals(Reason.DOWNGRADE,
                assertThrows(ProtocolException.class, () -> p.checkVersionAndSuite(1, TestPki.SUITE)).reason());
        var e = assertThrows(ProtocolException.class, () -> p.checkVersionAndSuite(2, "SMP1-NULL"));
        assertEquals(Reason.DOWNGRADE, e.reason());
        assertTrue(e.getMessage().contains("suite SMP1-NULL is not allowed"), e.getMessage());
    }

    @Test
    void globMatchesWithoutBacktrackingBlowUp() {
        assertTrue(Policy.glob("a*b*c", "axxbyyc"));
        assertFalse(Policy.glob("a*b*c", "axxbyy"));
        assertTrue(Policy.glob("*", ""));
        assertFalse(Policy.glob("?", ""));
        assertFalse(Policy.glob("*a*a*a*a*a*a*a*a*a*b", "a".repeat(60)));
    }
}
