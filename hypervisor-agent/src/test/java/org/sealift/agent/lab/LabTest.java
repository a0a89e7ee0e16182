package org.sealift.agent.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.cli.ClientCommands;

/**
 * {@code sealift lab --no-console} as a person runs it: the lab as its own process, a second {@code lab} that attaches,
 * a secure migration and injected attacks through the CLI with their exit codes, and Ctrl-C (SIGINT) that leaves no
 * process behind.
 */
class LabTest {

    @TempDir
    Path tmp;

    private static int cli(ByteArrayOutputStream out, String command, String... args) {
        out.reset();
        PrintStream p = new PrintStream(out, true, StandardCharsets.UTF_8);
        return new ClientCommands(p, p, Clock.systemUTC(), Map.of()).run(command, List.of(args));
    }

    @Test
    void theLabStartsMigratesCatchesAttacksAndStopsCleanlyOnCtrlC() throws Exception {
        Path dir = tmp.resolve("lab");
        Path err = tmp.resolve("lab.err");
        Process lab = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "org.sealift.agent.cli.ClientMain", "lab", "--no-console", "--dir", dir.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(err.toFile()).start();
        List<Long> pids = new ArrayList<>();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(lab.getInputStream(), StandardCharsets.UTF_8));
            List<String> lines = CompletableFuture.supplyAsync(() -> {
                List<String> seen = new ArrayList<>();
                try {
                    String l;
                    while ((l = r.readLine()) != null) {
                        seen.add(l);
                        if (l.equals("lab ready")) {
                            break;
                        }
                    }
                } catch (java.io.IOException e) {
                    // the process ended; the assertions below say what is missing
                }
                return seen;
            }).get(600, TimeUnit.SECONDS);
            assertEquals("lab ready", lines.get(lines.size() - 1), lines + "\n" + Files.readString(err));
            assertEquals("lab folder " + dir, lines.get(0));
            for (String h : List.of("h1", "h2", "h3")) {
                assertTrue(lines.stream().anyMatch(l -> l.matches("agent " + h + " https://127\\.0\\.0\\.1:\\d+")),
                        lines.toString());
            }
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("agent h4 https://") && l.contains("rogue")),
                    lines.toString());
            LabInfo info = LabInfo.read(dir).orElseThrow();
            for (LabInfo.Agent a : info.agents()) {
                pids.add(a.pid());
                pids.add(a.hypervisorPid());
            }
            assertEquals(8, pids.stream().filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive)
                    .orElse(false)).count(), "4 agents and 4 hypervisors run");

            // a second 'lab' attaches: same agents, nothing new started
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream second = new ByteArrayOutputStream();
            assertEquals(0, new LabCommand(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(second,
                    true, StandardCharsets.UTF_8)).run(List.of("--dir", dir.toString())));
            assertTrue(second.toString(StandardCharsets.UTF_8).contains("attaching to it"), second.toString());
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("agent h1 " + info.agent("h1").orElseThrow()
                    .api()), out.toString());
            assertEquals(info.agents(), LabInfo.read(dir).orElseThrow().agents());

            String d = dir.toString();
            assertEquals(0, cli(out, "vms", "--lab", "--lab-dir", d), out.toString());
            assertTrue(out.toString().contains("db-01") && out.toString().contains("vault (1024 pages)")
                    && out.toString().contains("ci-runner"), out.toString());

            assertEquals(0, cli(out, "migrate", "--lab", "--lab-dir", d, "--vm", "db-01", "--to", "h2"),
                    out.toString());
            String o = out.toString();
            assertTrue(o.contains("round 0: ") && o.contains("outcome COMMITTED"), o);
            assertTrue(o.matches("(?s).*attestation h1#\\d+ \\(COMMITTED; signed by both hypervisors\\).*"), o);

            assertEquals(5, cli(out, "migrate", "--lab", "--lab-dir", d, "--vm", "db-01", "--to", "h3", "--inject",
                    "tamper"), out.toString());
            assertTrue(out.toString().contains("reports ABORTED_BY_DESTINATION: TAMPERED"), out.toString());

            assertEquals(0, cli(out, "migrate", "--lab", "--lab-dir", d, "--vm", "db-01", "--to", "h1", "--inject",
                    "fork"), out.toString());
            assertTrue(out.toString().contains("fork: dom0 resumed the VM at the source after RELEASE: refused by"
                    + " the hypervisor"), out.toString());

            assertEquals(5, cli(out, "migrate", "--lab", "--lab-dir", d, "--vm", "web-01", "--to", "h4"),
                    out.toString());
            assertTrue(out.toString().contains("outcome REJECTED") && out.toString().contains("is not in policy"),
                    out.toString());

            assertEquals(3, cli(out, "migrate", "--lab", "--lab-dir", d, "--vm", "nosuch", "--to", "h2"),
                    out.toString());
            assertEquals(0, cli(out, "vms", "--lab", "--lab-dir", d), out.toString());
            long copies = out.toString().lines().filter(l -> l.contains(" db-01 ") && l.contains("RUNNING")).count();
            assertEquals(1, copies, out.toString());
            assertTrue(out.toString().lines().anyMatch(l -> l.startsWith("h1 ") && l.contains(" db-01 ")),
                    out.toString());
        } finally {
            // Ctrl-C; a JVM started where SIGINT is ignored (a background job) keeps ignoring it, then SIGTERM
            new ProcessBuilder("kill", "-INT", Long.toString(lab.pid())).start().waitFor();
            boolean ended = lab.waitFor(60, TimeUnit.SECONDS);
            if (!ended) {
                lab.destroy();
                ended = lab.waitFor(120, TimeUnit.SECONDS);
            }
            if (!ended) {
                lab.destroyForcibly();
            }
            assertTrue(ended, "the lab did not stop on SIGINT: " + Files.readString(err));
        }
        assertTrue(Files.readString(err).contains("sealift lab: stopped"), Files.readString(err));
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid
                    + " still runs after the lab stopped");
        }
        assertFalse(Files.exists(dir.resolve(LabInfo.FILE)), "lab.json removed");
    }
}
