package org.sealift.agent.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.VendorRoot;

/**
 * Runs {@code sealift ca} in-process against a temporary CA directory, and plays the simulated hardware vendor and
 * the hypervisor side of AK enrollment (the real hypervisor does the same inside its own process).
 */
final class CaFixture {

    final Path root;
    final Path ca;
    final VendorRoot vendor = VendorRoot.create("sim-vendor", Instant.now().minus(Duration.ofDays(1)),
            Duration.ofDays(3650));
    String stdout = "";
    String stderr = "";

    CaFixture(Path root) {
        this.root = root;
        this.ca = root.resolve("ca");
    }

    int runWithInput(String stdin, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc = new CaCommand(new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), Map.of(), Clock.systemUTC())
                .run(List.of(args));
        stdout = o.toString(StandardCharsets.UTF_8);
        stderr = e.toString(StandardCharsets.UTF_8);
        return rc;
    }

    int run(String... args) {
        return runWithInput("", args);
    }

    /** ca init + the vendor root trusted; fails the test if either fails. */
    CaFixture initialized(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("init", ca.toString(), "--name", "lab"));
        args.addAll(List.of(extra));
        check(run(args.toArray(new String[0])));
        Path vendorFile = root.resolve("vendor-root.crt");
        Certificates.write(vendorFile, List.of(vendor.certificate()));
        check(run("trust-vendor", vendorFile.toString(), "--ca", ca.toString()));
        return this;
    }

    private void check(int rc) {
        if (rc != 0) {
            throw new AssertionError("sealift ca failed (" + rc + "): " + stderr);
        }
    }

    /** What a hypervisor of host {@code hostId} hands to dom0: its AK CSR endorsed by its EK. */
    Path endorsedCsr(String hostId, byte[] measurement) throws Exception {
        EndorsementKey ek = vendor.manufacture(hostId, Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(365));
        AkCsr csr = AkCsr.create(AttestationSigner.of(ed25519()), hostId, measurement);
        Path f = root.resolve(hostId + "-ak-enrollment.pem");
        ek.endorse(csr).save(f);
        return f;
    }

    /** ca enroll --host with a freshly endorsed CSR; the credentials directory. */
    Path enrolledHost(String hostId, byte[] measurement) throws Exception {
        Path out = root.resolve("hosts").resolve(hostId);
        check(run("enroll", "--host", hostId, "--csr", endorsedCsr(hostId, measurement).toString(), "--ca",
                ca.toString(), "--out", out.toString()));
        return out;
    }

    Path enrolledOperator(String name) {
        Path out = root.resolve("operators");
        check(run("enroll", "--operator", name, "--ca", ca.toString(), "--out", out.toString()));
        return out;
    }

    static AkEnrollment withoutEndorsement(AkCsr csr) {
        return new AkEnrollment(csr, List.of(), new byte[0]);
    }

    static KeyPair ed25519() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    static byte[] measurement(int fill) {
        byte[] m = new byte[32];
        java.util.Arrays.fill(m, (byte) fill);
        return m;
    }
}
