package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.agent.AgentRefusedException;
import org.sealift.console.agent.internal.AgentInventorySource;
import org.sealift.console.core.settings.ConsoleTls;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySnapshot;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.Reachability;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.tests.fixtures.Await;
import org.sealift.console.core.tests.fixtures.LabCluster;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Pem;

/**
 * The console's agent client against a real lab (agents and simulated hypervisors started from the agent jar): the
 * inventory it loads over mutual TLS, and how it reports agents it cannot use.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentInventoryLabTest {

    private static Path tmp;
    private static LabCluster lab;

    @BeforeAll
    static void startLab() throws Exception {
        tmp = Files.createTempDirectory("sealift-console-inventory");
        lab = LabCluster.start(tmp.resolve("lab"), "--no-rogue");
    }

    @AfterAll
    static void stopLab() {
        if (lab != null) {
            lab.close();
        }
    }

    /** The console as './sealift lab' starts it: no agents in Preferences, SEALIFT_LAB_DIR naming the lab. */
    private static InventoryServiceImpl inventoryOfTheLab(String home) throws IOException {
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve(home)),
                Map.of(LabConnection.ENV, lab.dir().toString()));
        return new InventoryServiceImpl(new AgentInventorySource(new AgentDirectory(settings, Clock.systemUTC())));
    }

    private static InventoryServiceImpl inventoryWith(String home, List<AgentRef> agents) throws IOException {
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve(home)), Map.of());
        LabConnection c = lab.connection();
        settings.save(ConsoleSettings.DEFAULTS.withAgents(agents).withOperator(c.operatorCert(), c.operatorKey())
                .withTrust(c.trust(), c.policy(), null));
        return new InventoryServiceImpl(new AgentInventorySource(new AgentDirectory(settings, Clock.systemUTC())));
    }

    private static void awaitHostsAnswered(InventoryServiceImpl inv, int n) {
        Await.until(() -> InventoryServiceTest.answered(inv.current(), n), () -> "hosts: " + inv.current().hosts());
    }

    private static AgentRef labAgent(String host) {
        return lab.connection().agents().stream().filter(a -> a.name().equals(host)).findFirst().orElseThrow();
    }

    @Test
    @Order(1)
    void listsTheLabsHostsVmsAndTheProtectedProcessFromTheLabFolderAlone() throws Exception {
        InventoryServiceImpl inv = inventoryOfTheLab("home-lab");
        awaitHostsAnswered(inv, 3);
        InventorySnapshot s = inv.current();
        assertEquals(List.of("h1", "h2", "h3"), s.hosts().stream().map(HostNode::hostId).toList());
        for (HostNode h : s.hosts()) {
            assertEquals(Reachability.REACHABLE, h.reachability(), h.hostId() + ": " + h.problem());
            assertTrue(h.attested(), h.hostId() + " is a trusted lab host and must be attested");
            assertEquals(64, h.measurement().length(), "measurement of " + h.hostId());
            assertEquals("sim", h.backend());
            assertEquals("ok", h.health(), h.hostId() + " health problems: " + h.healthProblems());
        }
        assertEquals(2, s.host("h1").orElseThrow().vmCount());

        inv.loadVms("h1");
        inv.loadVms("h2");
        Await.until(() -> inv.current().vms("h1").isPresent() && inv.current().vms("h2").isPresent(),
                () -> "VMs: " + inv.current());
        List<VmNode> h1 = inv.current().vms("h1").orElseThrow();
        assertEquals(List.of("web-01", "db-01"), h1.stream().map(VmNode::name).toList());
        VmNode db = h1.get(1);
        assertEquals(32, db.memoryMiB());
        assertEquals(1, db.protectedProcesses());
        assertEquals(0, h1.get(0).protectedProcesses());
        assertEquals(List.of("ci-runner"), inv.current().vms("h2").orElseThrow().stream().map(VmNode::name).toList());

        inv.loadProcesses("h1", db.vmId());
        Await.until(() -> inv.current().processes("h1", db.vmId()).isPresent(), () -> "processes of db-01");
        List<ProtectedProcessNode> procs = inv.current().processes("h1", db.vmId()).orElseThrow();
        assertEquals(1, procs.size());
        assertEquals("vault", procs.get(0).name());
        assertEquals(1024, procs.get(0).protectedPages());
    }

    @Test
    @Order(2)
    void anAgentAtAClosedPortIsUnreachableWithTheReasonAndTheFix() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // free now; nothing listens once the socket is closed
        }
        String wrong = "https://127.0.0.1:" + closed;
        InventoryServiceImpl inv = inventoryWith("home-closed", List.of(labAgent("h1"), AgentRef.parse("h2", wrong)));
        awaitHostsAnswered(inv, 2);
        assertEquals(Reachability.REACHABLE, inv.current().host("h1").orElseThrow().reachability());
        HostNode h2 = inv.current().host("h2").orElseThrow();
        assertEquals(Reachability.UNREACHABLE, h2.reachability());
        assertEquals("agent h2 at " + wrong + " is unreachable: connection refused; is the agent running? check"
                + " Preferences > Agents", h2.problem());
    }

    @Test
    @Order(3)
    void anAddressThatAnswersAsAnotherHostIsRefusedByTheConsole() throws Exception {
        // h2 configured at h1's address: the TLS identity check must notice, whatever the address says
        InventoryServiceImpl inv = inventoryWith("home-swapped", List.of(new AgentRef("h2",
                labAgent("h1").address())));
        awaitHostsAnswered(inv, 1);
        HostNode h2 = inv.current().host("h2").orElseThrow();
        assertEquals(Reachability.UNREACHABLE, h2.reachability());
        assertTrue(h2.problem().contains("expected agent h2 but the address answers as agent h1; fix the address of"
                + " h2 in Preferences > Agents"), h2.problem());
    }

    @Test
    @Order(4)
    void withoutAnOperatorCertificateNoAgentIsAskedAndTheProblemSaysWhatToSet() throws Exception {
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home-nocert")),
                Map.of());
        settings.save(ConsoleSettings.DEFAULTS.withAgents(List.of(labAgent("h1"))));
        InventoryServiceImpl inv = new InventoryServiceImpl(new AgentInventorySource(new AgentDirectory(settings,
                Clock.systemUTC())));
        awaitHostsAnswered(inv, 1);
        HostNode h1 = inv.current().host("h1").orElseThrow();
        assertEquals(Reachability.UNREACHABLE, h1.reachability());
        assertEquals("cannot connect to agent h1: no operator certificate is set, so the console cannot log in to the"
                + " agents: choose the certificate and key from 'sealift ca enroll --operator NAME' in Preferences",
                h1.problem());
    }

    /** Another cluster's CA with an operator "mallory": credentials that are valid, but not for this cluster. */
    private static Path otherCluster() throws Exception {
        Path other = tmp.resolve("other-cluster");
        if (!Files.isDirectory(other.resolve("operators"))) {
            LabCluster.agentCli(tmp, "ca", "init", other.toString(), "--name", "other");
            LabCluster.agentCli(tmp, "ca", "enroll", "--operator", "mallory", "--ca", other.toString(), "--out",
                    other.resolve("operators").toString());
        }
        return other;
    }

    @Test
    @Order(5)
    void anAgentOfAnotherClusterIsRefusedByTheConsoleBeforeAnythingIsSent() throws Exception {
        // the console trusts another cluster; the lab's h1 is, to it, an agent it must not talk to
        Path other = otherCluster();
        SettingsServiceImpl settings = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home-other")),
                Map.of());
        settings.save(ConsoleSettings.DEFAULTS.withAgents(List.of(labAgent("h1")))
                .withOperator(other.resolve("operators/mallory.crt"), other.resolve("operators/mallory.key"))
                .withTrust(other.resolve("cluster-trust.pem"), null, null));
        InventoryServiceImpl inv = new InventoryServiceImpl(new AgentInventorySource(new AgentDirectory(settings,
                Clock.systemUTC())));
        awaitHostsAnswered(inv, 1);
        HostNode h1 = inv.current().host("h1").orElseThrow();
        assertEquals(Reachability.UNREACHABLE, h1.reachability());
        assertTrue(h1.problem().startsWith("agent h1 at " + labAgent("h1").address() + " was refused by the console:"
                + " certificate CN=h1 is issued by "), h1.problem());
        assertTrue(h1.problem().endsWith("the address may belong to another cluster's agent, or the trust anchor is"
                + " of another cluster"), h1.problem());
    }

    @Test
    @Order(6)
    void anOperatorCertificateOfAnotherClusterIsRefusedByTheAgentAndTheProblemSaysWhatToCheck() throws Exception {
        Path other = otherCluster();
        // mixing clusters in the settings is caught before any connection
        SettingsServiceImpl mixed = new SettingsServiceImpl(Files.createDirectories(tmp.resolve("home-mixed")),
                Map.of());
        mixed.save(ConsoleSettings.DEFAULTS.withAgents(List.of(labAgent("h1")))
                .withOperator(other.resolve("operators/mallory.crt"), other.resolve("operators/mallory.key"))
                .withTrust(lab.connection().trust(), null, null));
        AgentException local = assertThrows(AgentException.class, () -> new AgentDirectory(mixed, Clock.systemUTC())
                .api("h1"));
        assertTrue(local.getMessage().startsWith("cannot connect to agent h1: the operator certificate CN=mallory is"
                + " issued by "), local.getMessage());
        assertTrue(local.getMessage().endsWith("use the certificate and trust anchor of the same cluster"),
                local.getMessage());

        // a client that trusts the lab but presents mallory: the agent itself ends the handshake
        List<X509Certificate> chain = Certificates.read(other.resolve("operators/mallory.crt"));
        X509Certificate labCa = Certificates.read(lab.connection().clusterCa()).get(0);
        ConsoleTls.Operator mallory = new ConsoleTls.Operator(chain, Pem.readPrivateKey(other.resolve(
                "operators/mallory.key")), labCa);
        try (AgentApi api = new AgentApi(labAgent("h1"), ConsoleTls.context(mallory, "h1", Instant::now),
                "check Preferences > Agents")) {
            AgentException refused = assertThrows(AgentException.class, () -> api.get("/v1/host"));
            assertFalse(refused instanceof AgentRefusedException, "no request may get through: " + refused);
            assertTrue(refused.getMessage().startsWith("agent h1 at " + labAgent("h1").address() + " ended the TLS"
                    + " handshake: "), refused.getMessage());
            assertTrue(refused.getMessage().endsWith("the agent accepts only an operator certificate of its cluster:"
                    + " check the operator certificate and the trust anchor in Preferences (the agent's log names the"
                    + " reason)"), refused.getMessage());
        }
    }

    @Test
    @Order(100)
    void anAgentThatDiedIsShownUnreachableOnReconnect() throws Exception {
        InventoryServiceImpl inv = inventoryOfTheLab("home-killed");
        awaitHostsAnswered(inv, 3);
        assertEquals(Reachability.REACHABLE, inv.current().host("h3").orElseThrow().reachability());

        ProcessHandle agent = ProcessHandle.of(lab.agentPid("h3")).orElseThrow();
        agent.destroyForcibly();
        agent.onExit().join();

        inv.reconnect("h3");
        Await.until(() -> inv.current().host("h3").map(h -> h.reachability() == Reachability.UNREACHABLE)
                .orElse(false), () -> "h3 after its agent died: " + inv.current().host("h3"));
        String problem = inv.current().host("h3").orElseThrow().problem();
        assertTrue(problem.startsWith("agent h3 at " + labAgent("h3").address() + " is unreachable: "), problem);
        assertTrue(problem.endsWith("is the lab running? start it with './sealift lab' (lab folder " + lab.dir() + ")"),
                problem);
        assertEquals(Reachability.REACHABLE, inv.current().host("h1").orElseThrow().reachability());
    }
}
