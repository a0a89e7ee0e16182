package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.Main;

/**
 * What an admin sees who starts the daemon with {@code --backend xen} on a machine that is not a Xen dom0: the agent
 * exits at once with the reason and the fix, before it asks for credentials (enrolling would not help) and without a
 * JVM crash. Runs the real entry point in a child JVM with Debian's Xen libraries and the real shim.
 */
class AgentXenBackendTest {

    @TempDir
    Path tmp;

    @Test
    void agentWithTheXenBackendOnAMachineWithoutXenExitsWithTheReasonAndTheFix() throws Exception {
        assumeFalse(Files.exists(XenShimLoader.PRIVCMD), "this host is a Xen dom0: the failure path needs one without");
        Path shimDir = FakeXen.nativeDir().resolve("xen-shim/build");
        assertTrue(Files.isRegularFile(shimDir.resolve("libsealift-xen.so")), "build it: make -C native all");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djna.library.path=" + shimDir, "-cp", cp, Main.class.getName(), "agent", "--host-id", "h9",
                "--backend", "xen", "--data-dir", tmp.resolve("data").toString(), "--credentials-dir",
                tmp.resolve("credentials").toString())).redirectErrorStream(true);
        pb.environment().remove("SEALIFT_FAKEXEN_HOST");
        pb.environment().remove("LD_LIBRARY_PATH");
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes(); // ends when the agent exits
        // a guard against a hang only; the exit is expected within a second or two
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the agent did not exit: " + new String(out, StandardCharsets.UTF_8));
        }
        String output = new String(out, StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), output);
        String line = output.lines().filter(l -> l.startsWith("sealift agent: ")).findFirst()
                .orElseThrow(() -> new AssertionError("no error line: " + output));
        assertTrue(line.startsWith("sealift agent: Xen privcmd interface not available: "), line);
        assertTrue(line.contains("--backend sim") && line.contains("modprobe xen-privcmd"), "the fix: " + line);
        assertEquals(1, output.lines().filter(l -> l.startsWith("sealift agent: ")).count(),
                "one error, the Xen one (not a credentials complaint): " + output);
        assertFalse(output.contains("SIGSEGV") || output.contains("hs_err"), output);
    }
}
