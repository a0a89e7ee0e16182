package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;

/** The hypervisor is its own process: agents come, crash and go; the host and its guests stay. */
class HypervisorProcessTest {

    @TempDir
    static Path dir;
    static SimTestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimTestCluster.start(dir, false, "p1");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static Process probe(String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), SimClientProbe.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    static String firstLine(Process p) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null) {
            if (!line.startsWith("WARNING") && !line.startsWith("[")) {
                return line;
            }
        }
        return "(probe exited with " + p.onExit().join().exitValue() + ")";
    }

    @Test
    void hypervisorOutlivesAKilledAgentAndTheNextAgentReattaches() throws Exception {
        String socket = cluster.config("p1").socket().toString();
        long hvPid = cluster.host("p1").hypervisorPid();
        Process agent = probe("create", socket, "survivor");
        String line = firstLine(agent);
        assertTrue(line.startsWith("created "), line);
        int domId = Integer.parseInt(line.substring("created ".length()).trim());
        assertNotEquals(agent.pid(), hvPid, "the hypervisor must not be the agent's process");

        agent.destroyForcibly(); // SIGKILL: the agent crashes mid-flight
        agent.onExit().join();

        try (SimBackend next = SimBackend.attach(cluster.config("p1").socket())) {
            assertEquals(hvPid, next.hypervisorPid());
            assertTrue(ProcessHandle.of(hvPid).map(ProcessHandle::isAlive).orElse(false));
            var info = next.domainByName("survivor");
            assertEquals(domId, info.domId());
            assertEquals(DomainState.RUNNING, info.state());
            // the guest kept running without any agent: its dirty log (enabled by the dead agent) fills up
            long dirty = 0;
            for (int i = 0; i < 600 && dirty == 0; i++) {
                dirty = next.readDirtyLog(domId, false).cardinality();
                if (dirty == 0) {
                    Thread.sleep(50);
                }
            }
            assertTrue(dirty > 0, "the guest wrote memory while no agent was attached");
            next.pause(domId);
            next.destroyDomain(domId);
        }
    }

    @Test
    void aSecondAgentProcessCannotStartASecondMigrationOfALockedVm() throws Exception {
        SimBackend b = cluster.host("p1");
        int domId = b.createDomain(new org.sealift.agent.spi.DomainConfig("locked-vm", 16, 1, List.of(),
                org.sealift.agent.spi.WorkloadSpec.idle(0))).domId();
        var first = b.beginPlainMigration(domId);
        Process other = probe("plain", cluster.config("p1").socket().toString(), "locked-vm");
        String line = firstLine(other);
        other.onExit().join();
        assertTrue(line.startsWith("LOCKED "), line);
        assertTrue(line.contains("already in migration " + first.id()), line);
        first.finish(false);
        b.destroyDomain(domId);
    }

    /**
     * A MANIFEST is 2 MiB per GiB protected, more than the connection's first receive buffer: such frames are read
     * whole, answered, and the same connection serves on (the buffer grows to fit them, up to a bound beyond which a
     * frame gets a buffer of its own).
     */
    @Test
    void framesLargerThanTheReceiveBufferAreAnsweredAndTheConnectionServesOn() throws Exception {
        try (SimBackend b = SimBackend.attach(cluster.config("p1").socket())) {
            for (int mib : new int[] {3, 3, 20, 1}) {
                byte[] notAPolicy = new byte[mib << 20];
                notAPolicy[notAPolicy.length - 1] = 1;
                HypervisorException e = org.junit.jupiter.api.Assertions.assertThrows(HypervisorException.class,
                        () -> b.installPolicy(notAPolicy));
                assertNotEquals(HypervisorException.Reason.UNAVAILABLE, e.reason(),
                        mib + " MiB: the hypervisor must answer, not drop the connection: " + e.getMessage());
            }
            assertEquals("p1", b.identity().hostId());
        }
    }

    @Test
    void thePrivilegedSocketIsForItsOwnerOnly() throws Exception {
        Path socket = cluster.config("p1").socket();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        Path hardware = cluster.stateDir("p1").resolve("hardware");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(hardware)));
    }

    @Test
    void attachingWithoutAHypervisorSaysHowToStartIt() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(HypervisorException.class,
                () -> SimBackend.attach(dir.resolve("nobody.sock")));
        assertEquals(HypervisorException.Reason.UNAVAILABLE, e.reason());
        assertTrue(e.getMessage().contains("no hypervisor answers on"), e.getMessage());
    }
}
