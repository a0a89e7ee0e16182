package org.sealift.agent.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.handshake.Suite;
import org.sealift.protocol.pki.AkEnrollment;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.Role;
import org.sealift.protocol.pki.SignedPolicy;
import org.sealift.protocol.wire.StreamHeader;

/**
 * {@code sealift ca}: the cluster PKI from the command line, over {@link ClusterCa} (all signing is done there).
 * The CA directory holds the CA's files plus the current signed policy ({@code policy.pem}) and its history
 * ({@code policies/}); docs/agent-config.md shows the layout. Exit codes: 0 done, 1 refused or failed, 2 usage.
 */
public final class CaCommand {

    public static final String POLICY_FILE = "policy.pem";
    public static final String POLICIES_DIR = "policies";
    public static final String CA_DIR_ENV = "SEALIFT_CA_DIR";
    /** In the CA directory and each Xen host's credentials: every dom0 signer certificate the CA issued. */
    public static final String DOM0_SIGNERS_FILE = "dom0-signers.pem";
    public static final String DOM0_SIGNER_CERT_FILE = "dom0-signer.crt";

    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    /** Operator names become file names and certificate CNs. */
    private static final Pattern OPERATOR_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]+");

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    private final Map<String, String> env;
    private final Clock clock;

    public CaCommand(PrintStream out, PrintStream err, InputStream in, Map<String, String> env, Clock clock) {
        this.out = out;
        this.err = err;
        this.in = in;
        this.env = env;
        this.clock = clock;
    }

    /** A failure that is not a usage error (exit 1). */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    public int run(List<String> args) {
        if (args.isEmpty() || args.get(0).equals("help") || args.get(0).equals("--help")) {
            usage(out);
            return args.isEmpty() ? EXIT_USAGE : EXIT_OK;
        }
        List<String> rest = args.subList(1, args.size());
        try {
            switch (args.get(0)) {
                case "init" -> init(rest);
                case "sign-policy" -> signPolicy(rest);
                case "enroll" -> enroll(rest);
                case "fence" -> fence(rest);
                case "trust-vendor" -> trustVendor(rest);
                case "show" -> show(rest);
                default -> throw new UsageException("sealift ca: unknown subcommand '" + args.get(0)
                        + "'; use init, sign-policy, enroll, fence, trust-vendor or show (sealift ca help)");
            }
            return EXIT_OK;
        } catch (UsageException e) {
            err.println(e.getMessage());
            return EXIT_USAGE;
        } catch (Failure e) {
            err.println(e.getMessage());
            return EXIT_FAILED;
        }
    }

    static void usage(PrintStream out) {
        out.println("usage: sealift ca <subcommand> [options]");
        out.println();
        out.println("  init DIR [--name CLUSTER] [--days N] [--policy-days N] [--measurement HEX[=LABEL]]...");
        out.println("           [--allow-receive HOSTS:VMS]... [--vendor-root FILE]...");
        out.println("      create the cluster CA in DIR (keys owner-only) and sign the first policy (serial 1)");
        out.println("  sign-policy [--ca DIR] [--serial N] [--days N | --expires YYYY-MM-DD]");
        out.println("           [--allow-measurement HEX[=LABEL]]... [--remove-measurement HEX]...");
        out.println("           [--allow-receive HOSTS:VMS]... [--revoke-ak FILE|HEX]... [--min-version N] [--out FILE]");
        out.println("           [--allow-dom0-signer HOSTS]... [--remove-dom0-signer HOSTS]...");
        out.println("      sign the next policy: the current one with these changes and a higher serial");
        out.println("  enroll --host ID --csr FILE [--ca DIR] [--out DIR] [--days N]");
        out.println("      certify the hypervisor's endorsed attestation-key CSR (refused without a valid endorsement");
        out.println("      chain) and issue the agent's separate TLS certificate and key");
        out.println("  enroll --host ID --dom0-signer --csr FILE [--ca DIR] [--out DIR] [--days N] [--yes-i-understand]");
        out.println("      WEAKER: for a host whose hypervisor cannot hold an attestation key (unpatched Xen), certify");
        out.println("      its agent's dom0-held record-signing key: records it signs show what the agents did, not what");
        out.println("      a hypervisor enforced; never valid as an attestation key (asks for confirmation)");
        out.println("  enroll --operator NAME [--ca DIR] [--out DIR] [--days N]");
        out.println("      issue a client certificate and key for a person or the console");
        out.println("  fence --migration HEX --manifest-digest HEX --lost-ak FILE|HEX [--ca DIR] [--out FILE]");
        out.println("           [--yes-i-understand]");
        out.println("      TRUSTED OVERRIDE: let the surviving host of a migration act without its lost peer and");
        out.println("      revoke the lost host's attestation key in a new policy (asks for confirmation)");
        out.println("  trust-vendor FILE [--ca DIR]   accept endorsement chains from this hardware vendor root");
        out.println("  show [--ca DIR]                the CA and its current policy");
        out.println();
        out.println("--ca defaults to $" + CA_DIR_ENV + ". Exit codes: 0 done, 1 refused or failed, 2 usage error.");
    }

    // ---- init

    private void init(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca init", raw, Set.of("--name", "--days", "--policy-days", "--measurement",
                "--allow-receive", "--vendor-root"), Set.of());
        a.expectPositionals(1, "the CA directory (sealift ca init DIR)");
        Path dir = Path.of(a.positionals().get(0)).toAbsolutePath().normalize();
        String name = a.value("--name").orElse(dir.getFileName() == null ? "sealift" : dir.getFileName().toString());
        if (name.isBlank() || name.length() > 64 || name.chars().anyMatch(Character::isISOControl)) {
            throw new UsageException("sealift ca init: --name must be 1-64 printable characters");
        }
        long days = a.number("--days", 3650, 1, 36500);
        long policyDays = a.number("--policy-days", 90, 1, 36500);
        if (Files.exists(dir.resolve(ClusterCa.CA_KEY_FILE))) {
            throw new Failure("sealift ca init: " + dir + " already holds a cluster CA (" + ClusterCa.CA_KEY_FILE
                    + "); refusing to overwrite it. Use another directory, or manage this CA with sign-policy"
                    + " and enroll");
        }
        Instant now = clock.instant();
        ClusterCa ca = ClusterCa.create(name, now, Duration.ofDays(days));
        for (String f : a.values("--vendor-root")) {
            for (X509Certificate c : readCertificates(Path.of(f), "vendor root")) {
                try {
                    ca.trustVendorRoot(c);
                } catch (ProtocolException e) {
                    throw new Failure("sealift ca init: " + f + ": " + e.getMessage());
                }
            }
        }
        Policy.Builder policy = Policy.builder(name, 1)
                .validity(now, now.plus(Duration.ofDays(policyDays)))
                .minProtocolVersion(StreamHeader.VERSION_1)
                .allowSuite(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256.name());
        applyMeasurements(policy, a.values("--measurement"), "--measurement");
        List<String> receive = a.values("--allow-receive");
        applyReceiveRules(policy, receive.isEmpty() ? List.of("*:*") : receive);
        SignedPolicy signed = ca.signPolicy(build(policy));
        try {
            createPrivateDirectory(dir);
            ca.save(dir);
            savePolicy(dir, signed);
        } catch (IOException e) {
            throw new Failure("sealift ca init: cannot write the CA to " + dir + ": " + e.getMessage());
        }
        Policy p = signed.unverifiedPolicy();
        out.println("cluster CA '" + name + "' created in " + dir);
        out.println("  " + ClusterCa.CA_CERT_FILE + ", " + ClusterTrust.TRUST_FILE
                + "   public: give them to every agent, console and verifier");
        out.println("  " + ClusterCa.CA_KEY_FILE + ", " + ClusterCa.POLICY_KEY_FILE
                + "          private (owner-only): keep them off the hosts");
        out.println("  " + POLICY_FILE + "                 " + summary(p));
        if (p.measurements().isEmpty()) {
            out.println("  no hypervisor measurement is allowed yet: enroll a host, then add its measurement with"
                    + " 'sealift ca sign-policy --allow-measurement HEX=LABEL'");
        }
        out.println("next: sealift ca enroll --ca " + dir + " --host ID --csr FILE; sealift ca enroll --ca " + dir
                + " --operator NAME");
    }

    // ---- sign-policy

    private void signPolicy(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca sign-policy", raw, Set.of("--ca", "--serial", "--days", "--expires",
                "--allow-measurement", "--remove-measurement", "--allow-receive", "--revoke-ak", "--min-version",
                "--out", "--allow-dom0-signer", "--remove-dom0-signer"), Set.of());
        a.expectPositionals(0, "");
        Path dir = caDir(a);
        ClusterCa ca = loadCa(dir);
        Policy current = currentPolicy(dir, ca);
        long serial = current.serial() + 1;
        if (a.has("--serial")) {
            serial = a.number("--serial", 0, 1, Long.MAX_VALUE);
            if (Long.compareUnsigned(serial, current.serial()) <= 0) {
                throw new UsageException("sealift ca sign-policy: --serial " + serial + " is not higher than the"
                        + " current " + current.describe() + "; hypervisors refuse a policy whose serial is not"
                        + " higher than the highest they have seen, so use " + (current.serial() + 1) + " or more");
            }
        }
        if (a.has("--days") && a.has("--expires")) {
            throw new UsageException("sealift ca sign-policy: give --days or --expires, not both");
        }
        Instant now = clock.instant();
        Instant expiry = now.plus(Duration.ofDays(a.number("--days", 90, 1, 36500)));
        if (a.has("--expires")) {
            String e = a.value("--expires").orElseThrow();
            try {
                expiry = e.contains("T") ? Instant.parse(e) : LocalDate.parse(e).atStartOfDay(ZoneOffset.UTC)
                        .toInstant();
            } catch (DateTimeException ex) {
                throw new UsageException("sealift ca sign-policy: --expires '" + e + "' is not a date; use"
                        + " YYYY-MM-DD or an ISO instant like 2027-01-31T12:00:00Z");
            }
            if (!expiry.isAfter(now)) {
                throw new UsageException("sealift ca sign-policy: --expires " + expiry + " is in the past");
            }
        }
        Policy.Builder b = current.toBuilder().serial(serial).validity(now, expiry);
        if (a.has("--min-version")) {
            b.minProtocolVersion((int) a.number("--min-version", 1, 1, 65535));
        }
        applyMeasurements(b, a.values("--allow-measurement"), "--allow-measurement");
        for (String m : a.values("--remove-measurement")) {
            byte[] bytes = hex(m, 32, "--remove-measurement");
            if (!current.allowsMeasurement(bytes)) {
                throw new UsageException("sealift ca sign-policy: --remove-measurement " + m + " is not in the"
                        + " current " + current.describe());
            }
            b.removeMeasurement(bytes);
        }
        applyReceiveRules(b, a.values("--allow-receive"));
        for (String ak : a.values("--revoke-ak")) {
            b.revoke(akFingerprint(ak, ca, "--revoke-ak"));
        }
        for (String p : a.values("--allow-dom0-signer")) {
            try {
                b.allowDom0Signer(p);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--allow-dom0-signer " + p + ": " + e.getMessage());
            }
        }
        for (String p : a.values("--remove-dom0-signer")) {
            if (!current.dom0Signers().contains(p)) {
                throw new UsageException("sealift ca sign-policy: --remove-dom0-signer " + p + " is not in the"
                        + " current " + current.describe() + " (it has " + current.dom0Signers() + ")");
            }
            b.removeDom0Signer(p);
        }
        SignedPolicy signed = ca.signPolicy(build(b));
        Path copy = a.value("--out").map(Path::of).orElse(null);
        try {
            savePolicy(dir, signed);
            if (copy != null) {
                signed.save(copy);
            }
        } catch (IOException e) {
            throw new Failure("sealift ca sign-policy: cannot write the policy: " + e.getMessage());
        }
        Policy p = signed.unverifiedPolicy();
        out.println("signed " + summary(p) + " (replaces serial " + Long.toUnsignedString(current.serial()) + ")");
        for (Map.Entry<String, String> m : p.measurements().entrySet()) {
            out.println("  allows measurement " + m.getKey() + (m.getValue().isEmpty() ? "" : " (" + m.getValue()
                    + ")"));
        }
        for (Policy.ReceiveRule r : p.receiveRules()) {
            out.println("  allows hosts '" + r.hostPattern() + "' to receive VMs '" + r.vmPattern() + "'");
        }
        for (String fp : p.revokedAks()) {
            out.println("  revokes attestation key " + fp);
        }
        for (String d : p.dom0Signers()) {
            out.println("  accepts records signed by the dom0-held keys of hosts '" + d + "' (" + Dom0Signer.TRUST_LEVEL
                    + ")");
        }
        out.println("written to " + dir.resolve(POLICY_FILE) + (copy == null ? "" : " and " + copy)
                + "; install it on every host (hypervisors refuse older serials from then on)");
    }

    // ---- enroll

    private void enroll(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca enroll", raw, Set.of("--host", "--operator", "--csr", "--ca", "--out",
                "--days"), Set.of("--dom0-signer", "--yes-i-understand"));
        a.expectPositionals(0, "");
        if (a.has("--host") == a.has("--operator")) {
            throw new UsageException("sealift ca enroll: give exactly one of --host ID (a hypervisor and its agent)"
                    + " or --operator NAME (a person or the console)");
        }
        long days = a.number("--days", 365, 1, 36500);
        Path dir = caDir(a);
        if (a.has("--dom0-signer") && !a.has("--host")) {
            throw new UsageException("sealift ca enroll: --dom0-signer goes with --host ID");
        }
        if (a.has("--dom0-signer")) {
            enrollDom0Signer(a, dir, days);
        } else if (a.has("--host")) {
            enrollHost(a, dir, days);
        } else {
            enrollOperator(a, dir, days);
        }
    }

    private void enrollHost(Args a, Path dir, long days) throws UsageException, Failure {
        String host = a.required("--host", "the host id");
        if (!Certificates.isValidHostId(host)) {
            throw new UsageException("sealift ca enroll: host id '" + host + "' is invalid: use 1-63 letters,"
                    + " digits, '.', '_' or '-', starting with a letter or digit");
        }
        Path csrFile = Path.of(a.required("--csr", "the hypervisor's endorsed AK enrollment file; the hypervisor"
                + " writes it, see docs/agent-config.md"));
        ClusterCa ca = loadCa(dir);
        Policy policy = currentPolicy(dir, ca);
        AkEnrollment enrollment;
        try {
            enrollment = AkEnrollment.load(csrFile);
        } catch (IOException e) {
            throw new Failure("sealift ca enroll: cannot read " + csrFile + ": " + e.getMessage());
        } catch (ProtocolException e) {
            throw new Failure("sealift ca enroll: " + csrFile + " is not an AK enrollment: " + e.getMessage()
                    + (isDom0Request(csrFile, host) ? ". It is the request of a dom0-held record signer (host " + host
                            + "'s hypervisor cannot hold an attestation key); certify it with --dom0-signer only if"
                            + " records of what its agent did, signed in dom0, are wanted" : ""));
        }
        if (!enrollment.csr().hostId().equals(host)) {
            throw new Failure("sealift ca enroll: the CSR in " + csrFile + " is for host '"
                    + enrollment.csr().hostId() + "', not '" + host + "'; enroll it as --host "
                    + enrollment.csr().hostId() + " or fetch the CSR of " + host);
        }
        Instant now = clock.instant();
        X509Certificate ak;
        try {
            ak = ca.issueAkCertificate(enrollment, now, Duration.ofDays(days));
        } catch (ProtocolException e) {
            throw new Failure("sealift ca enroll: refused: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new Failure("sealift ca enroll: " + e.getMessage());
        }
        KeyPair tlsKey = ed25519();
        X509Certificate tls;
        try {
            tls = ca.issueAgentTlsCertificate(host, tlsKey.getPublic(), now, Duration.ofDays(days));
        } catch (IllegalArgumentException e) {
            throw new Failure("sealift ca enroll: " + e.getMessage());
        }
        Path outDir = a.value("--out").map(Path::of).orElse(dir.resolve("hosts").resolve(host)).toAbsolutePath();
        try {
            createPrivateDirectory(outDir);
            Certificates.write(outDir.resolve("ak.crt"), List.of(ak, ca.certificate()));
            Certificates.write(outDir.resolve("agent-tls.crt"), List.of(tls, ca.certificate()));
            Pem.writePrivateKey(outDir.resolve("agent-tls.key"), tlsKey.getPrivate());
            ca.trust().save(outDir.resolve(ClusterTrust.TRUST_FILE));
            Files.copy(dir.resolve(POLICY_FILE), outDir.resolve(POLICY_FILE),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new Failure("sealift ca enroll: cannot write the credentials to " + outDir + ": "
                    + e.getMessage());
        }
        byte[] m = enrollment.csr().measurement();
        out.println("enrolled host " + host + " (credentials in " + outDir + ")");
        out.println("  ak.crt          attestation-key certificate for the hypervisor, measurement " + Hex.encode(m));
        out.println("  agent-tls.crt   the agent's TLS certificate (never valid for attestation)");
        out.println("  agent-tls.key   its private key (owner-only): move it to the host, e.g. with the directory");
        out.println("  " + ClusterTrust.TRUST_FILE + ", " + POLICY_FILE + "   the cluster trust and the current policy");
        if (policy.allowsMeasurement(m)) {
            out.println("measurement is allowed by " + policy.describe()
                    + policy.measurementName(m).map(l -> " as '" + l + "'").orElse(""));
        } else {
            out.println("WARNING: measurement " + Hex.encode(m) + " is not in " + policy.describe()
                    + ", so host " + host + " will not be attested; if this hypervisor build is trusted, run:");
            out.println("  sealift ca sign-policy --ca " + dir + " --allow-measurement " + Hex.encode(m) + "=LABEL");
        }
    }

    private static boolean isDom0Request(Path csrFile, String host) {
        try {
            for (Pem.Block b : Pem.read(csrFile)) {
                if (Pem.CERTIFICATE_REQUEST.equals(b.type()) && Dom0Signer.isRequestFor(b.content(), host)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /**
     * Certifies an agent's dom0-held record-signing key for a host whose hypervisor cannot hold an attestation key,
     * after the operator confirmed what it does not prove. Writes the host's credentials like 'enroll --host' (the
     * certificate as dom0-signer.crt) and adds it to the CA's dom0-signers.pem, which every such host needs to name
     * its peers in records.
     */
    private void enrollDom0Signer(Args a, Path dir, long days) throws UsageException, Failure {
        String host = a.required("--host", "the host id");
        if (!Certificates.isValidHostId(host)) {
            throw new UsageException("sealift ca enroll: host id '" + host + "' is invalid: use 1-63 letters,"
                    + " digits, '.', '_' or '-', starting with a letter or digit");
        }
        Path csrFile = Path.of(a.required("--csr", "the agent's dom0 signer request ('sealift agent"
                + " --enrollment-request FILE' on the host)"));
        ClusterCa ca = loadCa(dir);
        Policy policy = currentPolicy(dir, ca);
        byte[] csr = null;
        try {
            for (Pem.Block b : Pem.read(csrFile)) {
                if (Pem.CERTIFICATE_REQUEST.equals(b.type())) {
                    csr = b.content();
                }
            }
        } catch (IOException e) {
            throw new Failure("sealift ca enroll: cannot read " + csrFile + ": " + e.getMessage());
        }
        if (csr == null) {
            throw new Failure("sealift ca enroll: " + csrFile + " holds no CERTIFICATE REQUEST");
        }
        out.println("A dom0 signer is WEAKER than an attestation key. Its key lives in dom0, which Sealift's threat");
        out.println("model does not trust: whoever controls dom0 of host " + host + " can sign any record with it.");
        out.println("Records it signs show what the agents did (" + Dom0Signer.TRUST_LEVEL + ").");
        out.println("It is never accepted where an attestation key is required: no secure migration, no protected VM.");
        if (!a.has("--yes-i-understand")) {
            String expected = "DOM0 " + host;
            out.print("Type '" + expected + "' to certify it: ");
            out.flush();
            String line;
            try {
                line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                line = null;
            }
            out.println();
            if (line == null) {
                throw new UsageException("sealift ca enroll: no confirmation (standard input is closed); run it in a"
                        + " terminal and type '" + expected + "', or pass --yes-i-understand");
            }
            if (!line.strip().equals(expected)) {
                throw new Failure("sealift ca enroll: not confirmed ('" + line.strip() + "' is not '" + expected
                        + "'); nothing was issued");
            }
        }
        Instant now = clock.instant();
        X509Certificate cert;
        X509Certificate tls;
        KeyPair tlsKey = ed25519();
        try {
            cert = ca.issueDom0SignerCertificate(host, csr, now, Duration.ofDays(days));
            tls = ca.issueAgentTlsCertificate(host, tlsKey.getPublic(), now, Duration.ofDays(days));
        } catch (ProtocolException e) {
            throw new Failure("sealift ca enroll: refused: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new Failure("sealift ca enroll: " + e.getMessage());
        }
        Path outDir = a.value("--out").map(Path::of).orElse(dir.resolve("hosts").resolve(host)).toAbsolutePath();
        Path bundle = dir.resolve(DOM0_SIGNERS_FILE);
        try {
            List<X509Certificate> all = new java.util.ArrayList<>();
            if (Files.exists(bundle)) {
                all.addAll(Certificates.read(bundle));
            }
            all.add(cert);
            Certificates.write(bundle, all);
            createPrivateDirectory(outDir);
            Certificates.write(outDir.resolve(DOM0_SIGNER_CERT_FILE), List.of(cert, ca.certificate()));
            Certificates.write(outDir.resolve("agent-tls.crt"), List.of(tls, ca.certificate()));
            Pem.writePrivateKey(outDir.resolve("agent-tls.key"), tlsKey.getPrivate());
            ca.trust().save(outDir.resolve(ClusterTrust.TRUST_FILE));
            Files.copy(dir.resolve(POLICY_FILE), outDir.resolve(POLICY_FILE),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(bundle, outDir.resolve(DOM0_SIGNERS_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new Failure("sealift ca enroll: cannot write the credentials to " + outDir + ": " + e.getMessage());
        }
        out.println("enrolled the dom0-held record signer of host " + host + " (credentials in " + outDir + ")");
        out.println("  " + DOM0_SIGNER_CERT_FILE + "   dom0-signer certificate " + Hex.encode(Certificates.fingerprint(cert))
                + " (marked: " + Dom0Signer.STATEMENT + ")");
        out.println("  agent-tls.crt, agent-tls.key   the agent's TLS certificate and key (owner-only)");
        out.println("  " + DOM0_SIGNERS_FILE + "   every dom0 signer of this cluster: give the newest copy to each such"
                + " host, records name their peers from it");
        if (!policy.allowsDom0Signer(host)) {
            out.println("NOTE: " + policy.describe() + " does not accept dom0 signers for host " + host + ", so its"
                    + " records will not verify until a policy allows them explicitly:");
            out.println("  sealift ca sign-policy --ca " + dir + " --allow-dom0-signer " + host);
        }
    }

    private void enrollOperator(Args a, Path dir, long days) throws UsageException, Failure {
        String name = a.required("--operator", "the operator's name");
        if (!OPERATOR_NAME.matcher(name).matches()) {
            throw new UsageException("sealift ca enroll: operator name '" + name + "' is invalid: use 1-64 letters,"
                    + " digits, '.', '_', '@' or '-', starting with a letter or digit");
        }
        ClusterCa ca = loadCa(dir);
        KeyPair kp = ed25519();
        X509Certificate cert;
        try {
            cert = ca.issueOperatorCertificate(name, kp.getPublic(), clock.instant(), Duration.ofDays(days));
        } catch (IllegalArgumentException e) {
            throw new Failure("sealift ca enroll: " + e.getMessage());
        }
        Path outDir = a.value("--out").map(Path::of).orElse(dir.resolve("operators")).toAbsolutePath();
        Path crt = outDir.resolve(name + ".crt");
        Path key = outDir.resolve(name + ".key");
        try {
            createPrivateDirectory(outDir);
            Certificates.write(crt, List.of(cert, ca.certificate()));
            Pem.writePrivateKey(key, kp.getPrivate());
            Certificates.write(outDir.resolve(ClusterCa.CA_CERT_FILE), List.of(ca.certificate()));
        } catch (IOException e) {
            throw new Failure("sealift ca enroll: cannot write to " + outDir + ": " + e.getMessage());
        }
        out.println("enrolled operator " + name + ", valid until " + cert.getNotAfter().toInstant());
        out.println("  " + crt + "   client certificate (the management API accepts it from every agent)");
        out.println("  " + key + "   its private key (owner-only)");
        out.println("  " + outDir.resolve(ClusterCa.CA_CERT_FILE) + "   the cluster CA, to verify the agents");
        out.println("try: curl --cert " + crt + " --key " + key + " --cacert " + outDir.resolve(ClusterCa.CA_CERT_FILE)
                + " --resolve h1:7443:ADDRESS https://h1:7443/v1/host");
    }

    // ---- fence

    private void fence(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca fence", raw, Set.of("--migration", "--manifest-digest", "--lost-ak", "--ca",
                "--out"), Set.of("--yes-i-understand"));
        a.expectPositionals(0, "");
        String midHex = a.required("--migration", "the migration id, 32 hex digits, as listed by in-doubt");
        byte[] mid = hex(midHex, 16, "--migration");
        byte[] digest = hex(a.required("--manifest-digest", "the manifest digest of the surviving copy, 64 hex"
                + " digits, as listed by in-doubt"), 32, "--manifest-digest");
        Path dir = caDir(a);
        ClusterCa ca = loadCa(dir);
        byte[] lostAk = akFingerprint(a.required("--lost-ak", "the lost host's ak.crt or its AK fingerprint"), ca,
                "--lost-ak");
        Policy current = currentPolicy(dir, ca);
        String next = Long.toUnsignedString(current.serial() + 1);
        out.println("A fence is a TRUSTED OVERRIDE outside Sealift's single-instance guarantee.");
        out.println("It lets the surviving host of migration " + Hex.encode(mid) + " run (or release) the VM whose");
        out.println("manifest digest is " + Hex.encode(digest) + " without its lost peer, and revokes the lost");
        out.println("host's attestation key " + Hex.encode(lostAk) + " in a new policy (serial " + next + ").");
        out.println("If the lost host is in fact still running its copy, the VM will run twice. Issue a fence only");
        out.println("when the lost host is powered off for good (or its disks are wiped) and cannot come back.");
        if (!a.has("--yes-i-understand")) {
            String expected = "FENCE " + Hex.encode(mid).substring(0, 8);
            out.print("Type '" + expected + "' to issue the fence: ");
            out.flush();
            String line;
            try {
                line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                line = null;
            }
            out.println(); // the answer may come from a pipe, which echoes no newline
            if (line == null) {
                throw new UsageException("sealift ca fence: no confirmation (standard input is closed); run it in a"
                        + " terminal and type '" + expected + "', or pass --yes-i-understand");
            }
            if (!line.strip().equals(expected)) {
                throw new Failure("sealift ca fence: not confirmed ('" + line.strip() + "' is not '" + expected
                        + "'); nothing was issued");
            }
        }
        FenceBundle bundle = ca.issueFence(mid, digest, lostAk, current);
        Path file = a.value("--out").map(Path::of)
                .orElse(dir.resolve("fences").resolve("fence-" + Hex.encode(mid) + ".pem")).toAbsolutePath();
        try {
            Files.createDirectories(file.getParent());
            bundle.save(file);
            savePolicy(dir, bundle.policy());
        } catch (IOException e) {
            throw new Failure("sealift ca fence: cannot write the fence: " + e.getMessage());
        }
        out.println("fence written to " + file);
        out.println("new " + summary(bundle.policy().unverifiedPolicy()) + " revokes the lost host's attestation key;"
                + " it is now " + dir.resolve(POLICY_FILE) + ": install it on every host, and give the fence file to"
                + " the surviving host's hypervisor");
    }

    // ---- trust-vendor, show

    private void trustVendor(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca trust-vendor", raw, Set.of("--ca"), Set.of());
        a.expectPositionals(1, "the vendor root certificate file");
        Path dir = caDir(a);
        ClusterCa ca = loadCa(dir);
        Path f = Path.of(a.positionals().get(0));
        for (X509Certificate c : readCertificates(f, "vendor root")) {
            try {
                ca.trustVendorRoot(c);
            } catch (ProtocolException e) {
                throw new Failure("sealift ca trust-vendor: " + f + ": " + e.getMessage());
            }
            out.println("trusting endorsement chains from vendor root " + Certificates.describe(c));
        }
        try {
            Certificates.write(dir.resolve(ClusterCa.VENDOR_ROOTS_FILE), ca.vendorRoots());
        } catch (IOException e) {
            throw new Failure("sealift ca trust-vendor: cannot write " + ClusterCa.VENDOR_ROOTS_FILE + ": "
                    + e.getMessage());
        }
    }

    private void show(List<String> raw) throws UsageException, Failure {
        Args a = new Args("sealift ca show", raw, Set.of("--ca"), Set.of());
        a.expectPositionals(0, "");
        Path dir = caDir(a);
        ClusterCa ca = loadCa(dir);
        X509Certificate c = ca.certificate();
        out.println("cluster CA " + Certificates.describe(c) + " in " + dir + ", valid until "
                + c.getNotAfter().toInstant());
        for (X509Certificate v : ca.vendorRoots()) {
            out.println("  trusts vendor root " + Certificates.describe(v));
        }
        Policy p = currentPolicy(dir, ca);
        out.println("current " + summary(p));
        p.measurements().forEach((m, l) -> out.println("  allows measurement " + m + (l.isEmpty() ? "" : " (" + l
                + ")")));
        p.revokedAks().forEach(fp -> out.println("  revokes attestation key " + fp));
        p.dom0Signers().forEach(d -> out.println("  accepts records of dom0-held signers of hosts '" + d + "'"));
    }

    // ---- helpers

    private Path caDir(Args a) throws UsageException {
        String d = a.value("--ca").orElse(env.get(CA_DIR_ENV));
        if (d == null || d.isBlank()) {
            throw new UsageException("no CA directory: pass --ca DIR (the DIR of 'sealift ca init DIR') or set "
                    + CA_DIR_ENV);
        }
        return Path.of(d).toAbsolutePath().normalize();
    }

    private static ClusterCa loadCa(Path dir) throws Failure {
        if (!Files.exists(dir.resolve(ClusterCa.CA_KEY_FILE))) {
            throw new Failure(dir + " holds no cluster CA (" + ClusterCa.CA_KEY_FILE + " is missing); create one"
                    + " with 'sealift ca init " + dir + "' or point --ca at the right directory");
        }
        try {
            return ClusterCa.load(dir);
        } catch (IOException | ProtocolException e) {
            throw new Failure("cannot load the cluster CA from " + dir + ": " + e.getMessage());
        }
    }

    /** The CA's current policy, verified with its own policy key. */
    private static Policy currentPolicy(Path dir, ClusterCa ca) throws Failure {
        Path f = dir.resolve(POLICY_FILE);
        try {
            return SignedPolicy.load(f).verify(ca.trust());
        } catch (java.nio.file.NoSuchFileException e) {
            throw new Failure(f + " is missing: the CA directory has no current policy; restore it from "
                    + POLICIES_DIR + "/ (the highest serial)");
        } catch (IOException | ProtocolException e) {
            throw new Failure("the current policy " + f + " is unusable: " + e.getMessage());
        }
    }

    private static void savePolicy(Path dir, SignedPolicy signed) throws IOException {
        Path history = dir.resolve(POLICIES_DIR);
        Files.createDirectories(history);
        signed.save(history.resolve("policy-" + Long.toUnsignedString(signed.unverifiedPolicy().serial()) + ".pem"));
        signed.save(dir.resolve(POLICY_FILE));
    }

    private static String summary(Policy p) {
        return p.describe() + ", valid until " + p.notAfter() + ", " + p.measurements().size()
                + " allowed measurement" + (p.measurements().size() == 1 ? "" : "s");
    }

    private static Policy build(Policy.Builder b) throws UsageException {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException("policy: " + e.getMessage());
        }
    }

    private static void applyMeasurements(Policy.Builder b, List<String> specs, String flag)
            throws UsageException {
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            String h = eq < 0 ? spec : spec.substring(0, eq);
            String label = eq < 0 ? "" : spec.substring(eq + 1);
            try {
                b.allowMeasurement(hex(h, 32, flag), label);
            } catch (IllegalArgumentException e) {
                throw new UsageException(flag + " " + spec + ": " + e.getMessage());
            }
        }
    }

    private static void applyReceiveRules(Policy.Builder b, List<String> specs) throws UsageException {
        for (String spec : specs) {
            int colon = spec.indexOf(':');
            if (colon <= 0 || colon == spec.length() - 1) {
                throw new UsageException("--allow-receive " + spec + ": use HOSTS:VMS with globs, e.g. 'h*:web-*'"
                        + " or '*:*'");
            }
            try {
                b.allowReceive(spec.substring(0, colon), spec.substring(colon + 1));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--allow-receive " + spec + ": " + e.getMessage());
            }
        }
    }

    static byte[] hex(String text, int bytes, String flag) throws UsageException {
        String t = text.strip();
        if (t.length() != 2 * bytes || !HEX.matcher(t).matches()) {
            throw new UsageException(flag + " '" + text + "' must be " + (2 * bytes) + " hex digits (" + bytes
                    + " bytes)");
        }
        return Hex.decode(t.toLowerCase(java.util.Locale.ROOT));
    }

    /** An AK fingerprint from an AK certificate file of this cluster, or 64 hex digits. */
    private static byte[] akFingerprint(String spec, ClusterCa ca, String flag) throws UsageException, Failure {
        Path f = Path.of(spec);
        if (!Files.isRegularFile(f)) {
            return hex(spec, 32, flag);
        }
        X509Certificate c = readCertificates(f, "attestation-key certificate").get(0);
        if (Certificates.role(c).orElse(null) != Role.ATTESTATION_KEY) {
            throw new Failure(flag + " " + f + ": " + Certificates.describe(c) + " is not an attestation-key"
                    + " certificate; give the lost host's ak.crt");
        }
        try {
            c.verify(ca.certificate().getPublicKey());
        } catch (java.security.GeneralSecurityException e) {
            throw new Failure(flag + " " + f + ": " + Certificates.describe(c) + " is not issued by this CA");
        }
        return Certificates.fingerprint(c);
    }

    private static List<X509Certificate> readCertificates(Path f, String what) throws Failure {
        try {
            return Certificates.read(f);
        } catch (IOException e) {
            throw new Failure("cannot read the " + what + " file " + f + ": " + e.getMessage());
        }
    }

    private static void createPrivateDirectory(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectories(dir);
        }
    }

    private static KeyPair ed25519() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK lacks Ed25519 (Java 15 or newer has it)", e);
        }
    }
}
