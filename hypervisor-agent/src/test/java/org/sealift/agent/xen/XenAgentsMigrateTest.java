package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.Main;
import org.sealift.agent.cli.ClientMain;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.Pem;

/**
 * {@code sealift migrate} between two agent daemons that run the Xen backend, each a child JVM bound to its own
 * fake Xen host: the CLI asks agent xa, which carries the VM to agent xb over the mutually authenticated agent
 * channel. The same path the Xen stage runs between two emulated Xen hosts (docs/xen-testing.md), here in seconds,
 * with a PVH guest's memory layout (special pages near 4 GiB) on both hosts.
 *
 * <p>The agents' TLS certificates are issued straight from the CA library, since a Xen host has no attestation key
 * to enroll (native/xen-testhost/cluster/XenCluster.java does the same for the stage).
 */
class XenAgentsMigrateTest {

    private static final Pattern READY = Pattern.compile("^ready host=(\\S+) api=(\\S+) channel=(\\S+)$");
    private static final int PAGES = 32 * 256;

    @TempDir
    Path tmp;
    private final List<Process> agents = new ArrayList<>();

    @AfterEach
    void stopAgents() throws Exception {
        for (Process p : agents) {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private record Started(Process process, String api, String channel) {
    }

    /** Starts one agent (backend xen on the fake host) and waits for its ready line. */
    private Started agent(String id, FakeXen host, Path credentials, Path peers) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Djna.library.path=" + FakeXen.libraryDir(), "-cp", cp, Main.class.getName(), "agent",
                "--host-id", id, "--backend", "xen", "--data-dir", tmp.resolve("data-" + id).toString(),
                "--credentials-dir", credentials.toString(), "--api-address", "127.0.0.1", "--api-port", "0",
                "--channel-address", "127.0.0.1", "--channel-port", "0", "--peers-file", peers.toString(),
                "--set", "xen.kernel=/usr/lib/sealift/guest.elf")).redirectErrorStream(true);
        pb.environment().put("SEALIFT_FAKEXEN_HOST", host.dir.toString());
        Process p = pb.start();
        agents.add(p);
        p.getOutputStream().close();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        CompletableFuture<Matcher> ready = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    seen.append(line).append('\n');
                    Matcher m = READY.matcher(line);
                    if (m.matches()) {
                        return m;
                    }
                }
            } catch (java.io.IOException e) {
                // the agent ended: reported below
            }
            return null;
        });
        // a guard against a hang only; agents start in a few seconds
        Matcher m = ready.get(120, TimeUnit.SECONDS);
        if (m == null) {
            throw new AssertionError("agent " + id + " did not start:\n" + seen);
        }
        Thread drain = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // keep the pipe from filling up
                }
            } catch (java.io.IOException ignored) {
                // the agent was stopped
            }
        });
        drain.setDaemon(true);
        drain.start();
        return new Started(p, m.group(2), m.group(3));
    }

    /** Runs {@code sealift agent ARGS} for host {@code id} to completion in a child JVM (fake Xen host). */
    private String agentCommand(String id, FakeXen host, Path credentials, String... extra) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djna.library.path=" + FakeXen.libraryDir(), "-cp", cp, Main.class.getName(), "agent", "--host-id",
                id, "--backend", "xen", "--data-dir", tmp.resolve("data-" + id).toString(), "--credentials-dir",
                credentials.toString()));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SEALIFT_FAKEXEN_HOST", host.dir.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), output);
        assertEquals(0, p.exitValue(), output);
        return output;
    }

    private record Cli(int exit, String output) {
    }

    private static Cli ca(Path caDir, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<String> a = new ArrayList<>(List.of(args));
        if (caDir != null) {
            a.add("--ca");
            a.add(caDir.toString());
        }
        int exit = new org.sealift.agent.cli.CaCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8), new java.io.ByteArrayInputStream(new byte[0]),
                java.util.Map.of(), java.time.Clock.systemUTC()).run(a);
        return new Cli(exit, out.toString(StandardCharsets.UTF_8));
    }

    private static Cli client(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = ClientMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Cli(exit, out.toString(StandardCharsets.UTF_8));
    }

    /**
     * The whole dom0-signer path as an operator runs it: each Xen agent writes its request (the key is made once in
     * its data directory, owner-only), the CA certifies it only with --dom0-signer and confirmation, a policy allows
     * dom0 signers explicitly, the migration's record is signed at both ends and logged on both hosts, 'sealift
     * verify' accepts both logs and says what such a record does not prove, and a tampered copy fails.
     */
    @Test
    void dom0SignersRecordAPlainMigrationThatSealiftVerifyChecksOnBothHosts() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("host-a"), FakeXen.UNPATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("host-b"), FakeXen.UNPATCHED);
        try (XenBackend xa = a.open()) {
            int dom = xa.createDomain(new DomainConfig("traveller", 32, 1, List.of(), WorkloadSpec.idle(0)))
                    .domId();
            a.pvhLayout(dom, FakeXen.PVH_SPECIAL_TOP);
            xa.resume(dom);
            a.check(a.touch(dom, 0, 256, 0x7a11e1L), "the guest fills memory");
        }
        Path caDir = tmp.resolve("ca");
        Cli init = ca(null, "init", caDir.toString(), "--name", "xen-agents", "--days", "2");
        assertEquals(0, init.exit(), init.output());
        for (String h : List.of("xa", "xb")) {
            FakeXen host = h.equals("xa") ? a : b;
            Path req = tmp.resolve(h + ".req");
            String wrote = agentCommand(h, host, tmp.resolve("cred-" + h), "--enrollment-request", req.toString());
            assertTrue(wrote.contains("next: sealift ca enroll --host " + h + " --dom0-signer --csr "), wrote);
            assertTrue(Files.readString(req).contains("dom0-held record signer of host " + h));
            Path key = tmp.resolve("data-" + h).resolve("dom0-signer").resolve("key.pem");
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(key)), "the dom0 signer's key is owner-only");
            // the AK path refuses it, and says what it is
            Cli asAk = ca(caDir, "enroll", "--host", h, "--csr", req.toString(), "--out", tmp.resolve("x").toString());
            assertEquals(1, asAk.exit(), asAk.output());
            assertTrue(asAk.output().contains("request of a dom0-held record signer"), asAk.output());
            // without confirmation nothing is issued
            Cli unconfirmed = ca(caDir, "enroll", "--host", h, "--dom0-signer", "--csr", req.toString(), "--out",
                    tmp.resolve("cred-" + h).toString(), "--days", "1");
            assertEquals(2, unconfirmed.exit(), unconfirmed.output());
            assertTrue(unconfirmed.output().contains("WEAKER"), unconfirmed.output());
            Cli enrolled = ca(caDir, "enroll", "--host", h, "--dom0-signer", "--csr", req.toString(), "--out",
                    tmp.resolve("cred-" + h).toString(), "--days", "1", "--yes-i-understand");
            assertEquals(0, enrolled.exit(), enrolled.output());
            assertTrue(enrolled.output().contains("--allow-dom0-signer " + h), enrolled.output());
        }
        Cli policy = ca(caDir, "sign-policy", "--allow-dom0-signer", "x*", "--days", "1");
        assertEquals(0, policy.exit(), policy.output());
        for (String h : List.of("xa", "xb")) {
            // the newest policy and the full list of the cluster's dom0 signers go to every Xen host
            Files.copy(caDir.resolve("policy.pem"), tmp.resolve("cred-" + h).resolve("policy.pem"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(caDir.resolve("dom0-signers.pem"), tmp.resolve("cred-" + h).resolve("dom0-signers.pem"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Cli op = ca(caDir, "enroll", "--operator", "op", "--out", tmp.resolve("op").toString(), "--days", "1");
        assertEquals(0, op.exit(), op.output());
        Path opDir = tmp.resolve("op");

        Path peers = tmp.resolve("peers");
        Files.writeString(peers, "");
        Started agentA = agent("xa", a, tmp.resolve("cred-xa"), peers);
        Started agentB = agent("xb", b, tmp.resolve("cred-xb"), peers);
        Files.writeString(peers, "xa = " + agentA.channel() + "\nxb = " + agentB.channel() + "\n");
        String[] tlsClient = {"--cert", opDir.resolve("op.crt").toString(), "--key", opDir.resolve("op.key").toString()};

        Cli migrate = client(concat(new String[] {"migrate", "--vm", "traveller", "--to", "xb", "--mode", "plain",
                "--max-rounds", "2", "--agent", agentA.api(), "--ca", opDir.resolve("ca.crt").toString()},
                tlsClient));
        assertEquals(0, migrate.exit(), migrate.output());
        assertTrue(migrate.output().contains("outcome COMMITTED"), migrate.output());
        assertTrue(migrate.output().contains("attestation xa#0 (COMMITTED; signed by both agents' dom0-held keys)"),
                migrate.output());
        assertTrue(migrate.output().contains(org.sealift.protocol.pki.Dom0Signer.TRUST_LEVEL), migrate.output());

        Path trust = caDir.resolve("cluster-trust.pem");
        for (Started ag : List.of(agentA, agentB)) {
            Cli verify = null;
            for (int i = 0; i < 100; i++) {
                // the destination logs once the source's proposal reached it; the source's answer came first
                verify = client(concat(new String[] {"verify", "--agent", ag.api(), "--ca", trust.toString(),
                        "--policy", caDir.resolve("policy.pem").toString()}, tlsClient));
                if (verify.exit() == 0 && verify.output().contains("(1 entries)")) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(0, verify.exit(), verify.output());
            assertTrue(verify.output().contains("(1 entries): OK"), verify.output());
            assertTrue(verify.output().contains(org.sealift.protocol.pki.Dom0Signer.TRUST_LEVEL)
                    && verify.output().contains("source (host xa), destination (host xb)"), verify.output());
            assertTrue(verify.output().contains("cannot show a truncation or rollback of the log by dom0 itself"),
                    verify.output());
        }

        // the record as a file: it verifies offline; a copy with one field changed does not
        org.sealift.protocol.attest.SignedRecord rec = org.sealift.protocol.attest.AttestationLog.load(
                tmp.resolve("data-xb").resolve("attestation.log")).entries().get(0).record();
        Path good = tmp.resolve("record.pem");
        rec.save(good);
        String[] offline = {"--ca", trust.toString(), "--policy", caDir.resolve("policy.pem").toString(), "--ak",
                caDir.resolve("dom0-signers.pem").toString()};
        Cli ok = client(concat(new String[] {"verify", good.toString()}, offline));
        assertEquals(0, ok.exit(), ok.output());
        assertTrue(ok.output().contains(": OK") && ok.output().contains(org.sealift.protocol.pki.Dom0Signer
                .TRUST_LEVEL), ok.output());
        String pem = Files.readString(good);
        byte[] der = org.sealift.protocol.pki.Pem.decode(pem).get(0).content();
        byte[] bytes = rec.record().toCanonicalBytes();
        int at = indexOf(der, bytes) + bytes.length - 32 - 32 - 1 - 1; // last byte of the statistics' total time
        der[at] ^= 0x01;
        Path tampered = tmp.resolve("tampered.pem");
        Files.writeString(tampered, org.sealift.protocol.pki.Pem.encode(
                org.sealift.protocol.pki.Pem.decode(pem).get(0).type(), der));
        Cli bad = client(concat(new String[] {"verify", tampered.toString()}, offline));
        assertEquals(1, bad.exit(), bad.output());
        assertTrue(bad.output().contains("FAILED") && bad.output().contains("signature does not verify"),
                bad.output());
    }

    private static String[] concat(String[] x, String[] y) {
        String[] out = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("record bytes not found in the signed record");
    }

    private static void tlsCredentials(ClusterCa ca, String host, Path dir, Path trust) throws Exception {
        KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Instant now = Instant.now();
        Files.createDirectories(dir);
        Certificates.write(dir.resolve("agent-tls.crt"), List.of(ca.issueAgentTlsCertificate(host, key.getPublic(),
                now, Duration.ofDays(1)), ca.certificate()));
        Pem.writePrivateKey(dir.resolve("agent-tls.key"), key.getPrivate());
        Files.copy(trust, dir.resolve("cluster-trust.pem"));
    }

    @Test
    void sealiftMigrateMovesAPvhGuestBetweenTwoXenAgents() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("host-a"), FakeXen.UNPATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("host-b"), FakeXen.UNPATCHED);
        byte[] before;
        try (XenBackend xa = a.open()) {
            int dom = xa.createDomain(new DomainConfig("traveller", 32, 1, List.of(), WorkloadSpec.idle(0)))
                    .domId();
            a.pvhLayout(dom, FakeXen.PVH_SPECIAL_TOP);
            xa.resume(dom);
            for (long pfn = 0; pfn < PAGES; pfn += 512) {
                a.check(a.touch(dom, pfn, 256, 0x7a11e1L + pfn), "the guest fills memory");
            }
            before = a.memory(dom, PAGES);
        }

        ClusterCa ca = ClusterCa.create("xen-agents", Instant.now(), Duration.ofDays(2));
        Path caDir = tmp.resolve("ca");
        ca.save(caDir);
        Path trust = caDir.resolve("cluster-trust.pem");
        tlsCredentials(ca, "xa", tmp.resolve("cred-xa"), trust);
        tlsCredentials(ca, "xb", tmp.resolve("cred-xb"), trust);
        KeyPair op = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Path opDir = Files.createDirectories(tmp.resolve("op"));
        Certificates.write(opDir.resolve("op.crt"), List.of(ca.issueOperatorCertificate("op", op.getPublic(),
                Instant.now(), Duration.ofDays(1)), ca.certificate()));
        Pem.writePrivateKey(opDir.resolve("op.key"), op.getPrivate());
        Certificates.write(opDir.resolve("ca.crt"), List.of(ca.certificate()));

        Path peers = tmp.resolve("peers");
        Files.writeString(peers, "");
        Started agentA = agent("xa", a, tmp.resolve("cred-xa"), peers);
        Started agentB = agent("xb", b, tmp.resolve("cred-xb"), peers);
        Files.writeString(peers, "xa = " + agentA.channel() + "\nxb = " + agentB.channel() + "\n");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = ClientMain.run(new String[] {"migrate", "--vm", "traveller", "--to", "xb", "--mode", "plain",
                "--max-rounds", "3", "--agent", agentA.api(), "--cert", opDir.resolve("op.crt").toString(), "--key",
                opDir.resolve("op.key").toString(), "--ca", opDir.resolve("ca.crt").toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);

        assertEquals(0, exit, printed);
        assertTrue(printed.contains("outcome COMMITTED"), printed);
        assertTrue(printed.lines().anyMatch(l -> l.startsWith("round 0: " + PAGES + " pages")),
                "round 0 sends the RAM, not the span up to the special pages: " + printed);
        assertEquals(1, printed.lines().filter(l -> l.matches("round \\d+ \\(stop-and-copy\\): .*")).count(), printed);
        assertTrue(printed.contains("attestation: none") && printed.contains("attest nothing"),
                "an unpatched Xen signs no record, and the CLI says so: " + printed);

        try (XenBackend xb = b.open(); XenBackend xa = a.open()) {
            DomainInfo arrived = xb.domainByName("traveller");
            assertEquals(DomainState.RUNNING, arrived.state());
            assertEquals(32, arrived.config().memoryMiB());
            assertArrayEquals(before, b.memory(arrived.domId(), PAGES), "the guest's memory arrived bit for bit");
            HypervisorException gone = assertThrows(HypervisorException.class, () -> xa.domainByName("traveller"));
            assertEquals(HypervisorException.Reason.NOT_FOUND, gone.reason(), "the source was destroyed");
        }
    }
}
