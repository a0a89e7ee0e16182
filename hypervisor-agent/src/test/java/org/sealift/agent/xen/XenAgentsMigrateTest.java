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
