package org.sealift.agent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.Role;
import org.sealift.protocol.pki.SignedPolicy;
import org.sealift.protocol.pki.VendorRoot;

/** {@code sealift ca} run in-process, with real files, checked by reading what it wrote back with the library. */
class CaCommandTest {

    @TempDir
    Path tmp;

    private static final String M1 = "11".repeat(32);
    private static final String M2 = "22".repeat(32);

    private static String perms(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private static Policy policy(Path ca) throws Exception {
        return SignedPolicy.load(ca.resolve("policy.pem")).verify(ClusterTrust.load(ca.resolve("cluster-trust.pem")));
    }

    @Test
    void initCreatesTheCaWithOwnerOnlyKeysAndASignedFirstPolicy() throws Exception {
        CaFixture f = new CaFixture(tmp);
        assertEquals(0, f.run("init", f.ca.toString(), "--name", "lab", "--measurement", M1 + "=sim-hv-1"));
        assertEquals("rw-------", perms(f.ca.resolve("ca.key")));
        assertEquals("rw-------", perms(f.ca.resolve("policy.key")));
        assertEquals("rwx------", perms(f.ca));
        Policy p = policy(f.ca);
        assertEquals(1, p.serial());
        assertEquals("lab", p.name());
        assertEquals(java.util.Map.of(M1, "sim-hv-1"), p.measurements());
        assertTrue(p.mayReceive("h1", "web-01"));
        assertTrue(f.ca.resolve("policies/policy-1.pem").toFile().isFile());
        assertTrue(f.stdout.contains("cluster CA 'lab' created in " + f.ca), f.stdout);
    }

    @Test
    void initRefusesToOverwriteAnExistingCa() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        byte[] key = Files.readAllBytes(f.ca.resolve("ca.key"));
        assertEquals(1, f.run("init", f.ca.toString()));
        assertTrue(f.stderr.contains("already holds a cluster CA (ca.key); refusing to overwrite it"), f.stderr);
        assertArrayEquals(key, Files.readAllBytes(f.ca.resolve("ca.key")));
    }

    @Test
    void signPolicyRaisesTheSerialAndKeepsWhatItDoesNotChange() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized("--measurement", M1 + "=old");
        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString(), "--allow-measurement", M2 + "=new",
                "--remove-measurement", M1, "--allow-receive", "h*:db-*", "--expires", "2099-01-31"));
        Policy p = policy(f.ca);
        assertEquals(2, p.serial());
        assertEquals(java.util.Map.of(M2, "new"), p.measurements());
        assertTrue(p.mayReceive("h3", "db-01"));
        assertTrue(p.mayReceive("x", "y"), "the rules of the previous policy stay");
        assertEquals(java.time.Instant.parse("2099-01-31T00:00:00Z"), p.notAfter());
        assertTrue(f.ca.resolve("policies/policy-1.pem").toFile().isFile());
        assertTrue(f.stdout.contains("signed policy 'lab' serial 2"), f.stdout);

        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString(), "--serial", "7"));
        assertEquals(7, policy(f.ca).serial());
    }

    @Test
    void signPolicyRefusesASerialThatIsNotHigher() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString()));
        assertEquals(2, f.run("sign-policy", "--ca", f.ca.toString(), "--serial", "2"));
        assertTrue(f.stderr.contains("--serial 2 is not higher than the current policy 'lab' serial 2"), f.stderr);
        assertTrue(f.stderr.contains("use 3 or more"), f.stderr);
        assertEquals(2, policy(f.ca).serial());
        assertEquals(2, f.run("sign-policy", "--ca", f.ca.toString(), "--allow-measurement", "abc"));
        assertTrue(f.stderr.contains("must be 64 hex digits"), f.stderr);
    }

    @Test
    void enrollHostCertifiesTheEndorsedAkAndIssuesASeparateTlsIdentity() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized("--measurement", M1);
        Path out = f.enrolledHost("h1", CaFixture.measurement(0x11));
        assertEquals("rw-------", perms(out.resolve("agent-tls.key")));
        assertTrue(f.stdout.contains("measurement is allowed by policy 'lab' serial 1"), f.stdout);

        X509Certificate ak = Certificates.read(out.resolve("ak.crt")).get(0);
        assertEquals(Role.ATTESTATION_KEY, Certificates.role(ak).orElseThrow());
        assertEquals("h1", Certificates.subjectCn(ak));
        assertArrayEquals(CaFixture.measurement(0x11), Certificates.measurement(ak).orElseThrow());

        TlsCredentials tls = TlsCredentials.load(out.resolve("agent-tls.crt"), out.resolve("agent-tls.key"),
                out.resolve("cluster-trust.pem"), Clock.systemUTC()).requireRole(Role.AGENT_TLS, "");
        assertEquals("h1", tls.name());
        assertFalse(java.util.Arrays.equals(Certificates.fingerprint(ak), Certificates.fingerprint(tls.leaf())),
                "the TLS key must not be the attestation key");
        assertEquals(1, SignedPolicy.load(out.resolve("policy.pem")).unverifiedPolicy().serial());
    }

    @Test
    void enrollHostWarnsWhenTheMeasurementIsNotInPolicy() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        f.enrolledHost("h2", CaFixture.measurement(0x33));
        assertTrue(f.stdout.contains("WARNING: measurement " + "33".repeat(32) + " is not in policy 'lab' serial 1"),
                f.stdout);
        assertTrue(f.stdout.contains("sealift ca sign-policy --ca " + f.ca + " --allow-measurement " + "33".repeat(32)),
                f.stdout);
    }

    @Test
    void enrollHostRefusesACsrWithoutEndorsement() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        // dom0's own key: a well-formed, self-signed AK CSR with no endorsement-key chain
        AkCsr csr = AkCsr.create(AttestationSigner.of(CaFixture.ed25519()), "h1", CaFixture.measurement(1));
        Path file = tmp.resolve("dom0.pem");
        CaFixture.withoutEndorsement(csr).save(file);
        Path out = tmp.resolve("out");
        assertEquals(1, f.run("enroll", "--host", "h1", "--csr", file.toString(), "--ca", f.ca.toString(), "--out",
                out.toString()));
        assertTrue(f.stderr.contains("refused: UNATTESTED: AK CSR for host h1 is not endorsed"), f.stderr);
        assertFalse(Files.exists(out), "nothing may be issued for a refused CSR");
    }

    @Test
    void enrollHostRefusesAnEndorsementFromAnUntrustedVendor() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        CaFixture rogue = new CaFixture(tmp.resolve("rogue"));
        Files.createDirectories(rogue.root);
        Path file = rogue.endorsedCsr("h1", CaFixture.measurement(1));
        assertEquals(1, f.run("enroll", "--host", "h1", "--csr", file.toString(), "--ca", f.ca.toString()));
        assertTrue(f.stderr.contains("which is not a trusted vendor root"), f.stderr);
        assertFalse(Files.exists(f.ca.resolve("hosts/h1")));
    }

    @Test
    void enrollHostRefusesTheCsrOfAnotherHost() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path file = f.endorsedCsr("h2", CaFixture.measurement(1));
        assertEquals(1, f.run("enroll", "--host", "h1", "--csr", file.toString(), "--ca", f.ca.toString()));
        assertTrue(f.stderr.contains("is for host 'h2', not 'h1'"), f.stderr);
    }

    @Test
    void enrollOperatorIssuesAClientCertificate() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path out = f.enrolledOperator("alice");
        assertEquals("rw-------", perms(out.resolve("alice.key")));
        TlsCredentials alice = TlsCredentials.load(out.resolve("alice.crt"), out.resolve("alice.key"),
                out.resolve("ca.crt"), Clock.systemUTC()).requireRole(Role.OPERATOR, "");
        assertEquals("alice", alice.name());
        assertTrue(f.stdout.contains("curl --cert " + out.resolve("alice.crt")), f.stdout);
    }

    @Test
    void usageErrorsExitWith2AndSayWhatToType() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        assertEquals(2, f.run("enroll", "--host", "h1", "--operator", "alice", "--ca", f.ca.toString()));
        assertTrue(f.stderr.contains("give exactly one of --host ID"), f.stderr);
        assertEquals(2, f.run("enroll", "--operator", "alice", "--ca", f.ca.toString(), "--dyas", "3"));
        assertTrue(f.stderr.contains("unknown option --dyas; known options:"), f.stderr);
        assertEquals(2, f.run("enroll", "--operator", "alice"));
        assertTrue(f.stderr.contains("no CA directory: pass --ca DIR"), f.stderr);
        assertEquals(2, f.run("frobnicate"));
        assertEquals(2, f.run());
        assertTrue(f.stdout.contains("usage: sealift ca"), f.stdout);
        assertEquals(2, f.run("enroll", "--operator", "../evil", "--ca", f.ca.toString()));
        assertEquals(1, f.run("show", "--ca", tmp.resolve("nothing").toString()));
        assertTrue(f.stderr.contains("holds no cluster CA"), f.stderr);
    }

    private String[] fenceArgs(CaFixture f, String mid, Path lostAk, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("fence", "--ca", f.ca.toString(), "--migration", mid,
                "--manifest-digest", "ab".repeat(32), "--lost-ak", lostAk.toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void fenceNeedsAnExplicitConfirmation() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path lost = f.enrolledHost("h2", CaFixture.measurement(2)).resolve("ak.crt");
        String mid = "0123456789abcdef0123456789abcdef";
        // no terminal: refused as a usage error, nothing issued
        assertEquals(2, f.runWithInput("", fenceArgs(f, mid, lost)));
        assertTrue(f.stdout.contains("A fence is a TRUSTED OVERRIDE"), f.stdout);
        assertTrue(f.stderr.contains("pass --yes-i-understand"), f.stderr);
        // a wrong answer: refused
        assertEquals(1, f.runWithInput("yes\n", fenceArgs(f, mid, lost)));
        assertTrue(f.stderr.contains("not confirmed"), f.stderr);
        assertEquals(1, policy(f.ca).serial());
        assertFalse(Files.exists(f.ca.resolve("fences")));
        // the typed confirmation
        assertEquals(0, f.runWithInput("FENCE 01234567\n", fenceArgs(f, mid, lost)));
        assertTrue(Files.exists(f.ca.resolve("fences/fence-" + mid + ".pem")));
    }

    @Test
    void aFenceRevokesTheLostAkInTheNextPolicy() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path lost = f.enrolledHost("h2", CaFixture.measurement(2)).resolve("ak.crt");
        byte[] lostFp = Certificates.fingerprint(Certificates.read(lost).get(0));
        Path file = tmp.resolve("fence.pem");
        assertEquals(0, f.runWithInput("", fenceArgs(f, "ff".repeat(16), lost, "--yes-i-understand", "--out",
                file.toString())));
        ClusterTrust trust = ClusterTrust.load(f.ca.resolve("cluster-trust.pem"));
        FenceBundle bundle = FenceBundle.load(file);
        Policy withFence = bundle.verify(trust);
        assertEquals(2, withFence.serial());
        assertTrue(withFence.isRevoked(lostFp));
        assertArrayEquals(lostFp, bundle.fence().lostAkFingerprint());
        assertArrayEquals(Hex.decode("ff".repeat(16)), bundle.fence().migrationId());
        // the CA's current policy is the fence's, so the next sign-policy keeps the revocation
        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString()));
        assertTrue(policy(f.ca).isRevoked(lostFp));
        assertEquals(3, policy(f.ca).serial());
    }

    @Test
    void aFenceRefusesAnAkCertificateOfAnotherKind() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path tlsCert = f.enrolledHost("h2", CaFixture.measurement(2)).resolve("agent-tls.crt");
        assertEquals(1, f.runWithInput("", fenceArgs(f, "ff".repeat(16), tlsCert, "--yes-i-understand")));
        assertTrue(f.stderr.contains("is not an attestation-key certificate"), f.stderr);
        assertEquals(1, policy(f.ca).serial());
    }

    @Test
    void theVendorRootMustBeAVendorRoot() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        assertEquals(1, f.run("trust-vendor", f.ca.resolve("ca.crt").toString(), "--ca", f.ca.toString()));
        assertTrue(f.stderr.contains("is not a self-signed vendor root certificate"), f.stderr);
        VendorRoot second = VendorRoot.create("other-vendor", java.time.Instant.now(), java.time.Duration.ofDays(9));
        Path file = tmp.resolve("v2.crt");
        Certificates.write(file, List.of(second.certificate()));
        assertEquals(0, f.run("trust-vendor", file.toString(), "--ca", f.ca.toString()));
        assertEquals(0, f.run("show", "--ca", f.ca.toString()));
        assertTrue(f.stdout.contains("trusts vendor root CN=sim-vendor"), f.stdout);
        assertTrue(f.stdout.contains("trusts vendor root CN=other-vendor"), f.stdout);
    }

    /** The request a Xen agent writes for its dom0-held record signer ('sealift agent --enrollment-request'). */
    private Path dom0Request(String host) throws Exception {
        byte[] csr = org.sealift.protocol.pki.Dom0Signer.createCsr(AttestationSigner.of(
                java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair()), host);
        Path f = tmp.resolve(host + "-dom0.req");
        Files.writeString(f, "# dom0-held record signer of host " + host + "\n"
                + org.sealift.protocol.pki.Pem.encode(org.sealift.protocol.pki.Pem.CERTIFICATE_REQUEST, csr));
        return f;
    }

    @Test
    void enrollDom0SignerNeedsTheTypedConfirmationAndIssuesTheMarkedCertificate() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        Path req = dom0Request("xa");
        Path out = tmp.resolve("xa-cred");
        String[] args = {"enroll", "--ca", f.ca.toString(), "--host", "xa", "--dom0-signer", "--csr", req.toString(),
            "--out", out.toString()};
        assertEquals(1, f.runWithInput("yes\n", args));
        assertTrue(f.stdout.contains("WEAKER than an attestation key") && f.stderr.contains("not confirmed"),
                f.stdout + f.stderr);
        assertFalse(Files.exists(out.resolve("dom0-signer.crt")), "nothing was issued");
        assertEquals(0, f.runWithInput("DOM0 xa\n", args), f.stderr);
        X509Certificate c = Certificates.read(out.resolve("dom0-signer.crt")).get(0);
        assertEquals(Role.DOM0_SIGNER, Certificates.role(c).orElseThrow());
        assertTrue(org.sealift.protocol.pki.Dom0Signer.isDom0Signer(c));
        assertEquals(1, Certificates.read(f.ca.resolve("dom0-signers.pem")).size());
        assertTrue(Files.exists(out.resolve("dom0-signers.pem")) && Files.exists(out.resolve("agent-tls.key")));
        assertTrue(f.stdout.contains("sealift ca sign-policy --ca " + f.ca + " --allow-dom0-signer xa"), f.stdout);
        // the request of another host is refused by name
        assertEquals(1, f.run("enroll", "--ca", f.ca.toString(), "--host", "xb", "--dom0-signer", "--csr",
                req.toString(), "--yes-i-understand", "--out", tmp.resolve("xb-cred").toString()));
        assertTrue(f.stderr.contains("names host 'xa'"), f.stderr);
        // an endorsed AK request is not a dom0 signer's
        Path ak = f.endorsedCsr("xc", new byte[32]);
        assertEquals(1, f.run("enroll", "--ca", f.ca.toString(), "--host", "xc", "--dom0-signer", "--csr",
                ak.toString(), "--yes-i-understand", "--out", tmp.resolve("xc-cred").toString()));
        assertTrue(f.stderr.contains("does not declare a dom0-held key"), f.stderr);
    }

    @Test
    void signPolicyAllowsAndRemovesDom0SignersExplicitly() throws Exception {
        CaFixture f = new CaFixture(tmp).initialized();
        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString(), "--allow-dom0-signer", "x*"));
        assertTrue(f.stdout.contains("accepts records signed by the dom0-held keys of hosts 'x*'"), f.stdout);
        Policy p = SignedPolicy.load(f.ca.resolve("policy.pem")).unverifiedPolicy();
        assertTrue(p.allowsDom0Signer("xa") && !p.allowsDom0Signer("h1"));
        assertEquals(2, f.run("sign-policy", "--ca", f.ca.toString(), "--remove-dom0-signer", "h*"));
        assertEquals(0, f.run("sign-policy", "--ca", f.ca.toString(), "--remove-dom0-signer", "x*"));
        assertTrue(SignedPolicy.load(f.ca.resolve("policy.pem")).unverifiedPolicy().dom0Signers().isEmpty());
    }
}
