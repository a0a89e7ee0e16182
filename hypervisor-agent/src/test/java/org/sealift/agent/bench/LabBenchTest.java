package org.sealift.agent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.Main;
import org.sealift.agent.api.Json;
import org.sealift.agent.sim.SimBackend;
import org.sealift.model.MigrationMode;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The lab benchmark's own logic (options, medians over committed runs only, runs that did not commit kept with their
 * reason, JSON) and one tiny real run, so that the benchmark cannot rot. Nothing here measures speed.
 */
class LabBenchTest {

    @TempDir
    Path tmp;

    private static LabBench.RunResult run(int mem, int wws, MigrationMode mode, int run, String outcome,
            double totalMs, double downtimeMs, int rounds, long bytes) {
        return new LabBench.RunResult(mem, wws, mode, run, outcome, outcome.equals("COMMITTED") ? "completed"
                : "DEADLINE: VM paused without RELEASE for 5000 ms", totalMs, downtimeMs, rounds, bytes,
                new LabBench.Cpu(run * 10, run * 20, run * 30, run * 40));
    }

    @Test
    void optionsDefaultToTheEngineBenchmarksMatrixAndAreParsed() throws Exception {
        LabBench.Settings d = LabBench.parse(new String[0]);
        assertEquals(List.of(256, 1024, 4096), d.sizes());
        assertEquals(List.of(0, 16, 64), d.workingSets());
        assertEquals(3, d.runs());
        assertNull(d.json());
        assertFalse(d.useRunningLab());

        LabBench.Settings s = LabBench.parse(new String[] {"--sizes", "256, 1024", "--wws", "0,16", "--runs", "1",
            "--json", "out.json", "--fill", "30", "--ceiling-mib", "64", "--lab", "--no-warmup",
            "--protected-mib-per-lab", "100"});
        assertEquals(List.of(256, 1024), s.sizes());
        assertEquals(List.of(0, 16), s.workingSets());
        assertEquals(1, s.runs());
        assertEquals(Path.of("out.json"), s.json());
        assertEquals(30, s.fillPercent());
        assertEquals(64, s.ceilingMiB());
        assertTrue(s.useRunningLab());
        assertFalse(s.warmUp());
        assertEquals(100, s.protectedMiBPerLab());
        assertEquals(LabBench.PROTECTED_MIB_PER_LAB, d.protectedMiBPerLab());
        assertNull(LabBench.parse(new String[] {"--help"}));
    }

    @Test
    void badOptionsAreRefusedWithTheFix() {
        assertTrue(assertThrows(LabBench.UsageException.class, () -> LabBench.parse(new String[] {"--engine"}))
                .getMessage().contains("unknown option '--engine'"));
        assertTrue(assertThrows(LabBench.UsageException.class, () -> LabBench.parse(new String[] {"--runs", "0"}))
                .getMessage().contains("at least 1"));
        assertTrue(assertThrows(LabBench.UsageException.class,
                () -> LabBench.parse(new String[] {"--sizes", "256,big"})).getMessage().contains("'256,big'"));
        assertTrue(assertThrows(LabBench.UsageException.class, () -> LabBench.parse(new String[] {"--runs", "1,3"}))
                .getMessage().contains("takes one number"));
        assertTrue(assertThrows(LabBench.UsageException.class, () -> LabBench.parse(new String[] {"--json"}))
                .getMessage().contains("needs a value"));
        assertTrue(assertThrows(LabBench.UsageException.class, () -> LabBench.parse(new String[] {"--fill", "101"}))
                .getMessage().contains("0..100"));

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream p = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(2, assertDoesNotThrowRun(new String[] {"--wws", "-1"}, p));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("sealift bench: option --wws"), err.toString());
    }

    private static int assertDoesNotThrowRun(String[] args, PrintStream p) {
        try {
            return LabBench.run(args, p, p);
        } catch (Exception e) {
            throw new AssertionError("a usage error must be an exit code, not " + e, e);
        }
    }

    @Test
    void mediansTakeOnlyCommittedRunsAndAConfigurationWithoutOneIsAborted() {
        List<LabBench.RunResult> results = List.of(
                run(256, 0, MigrationMode.PLAIN, 1, "COMMITTED", 100, 10, 2, 1000),
                run(256, 0, MigrationMode.SECURE, 1, "COMMITTED", 300, 30, 3, 3000),
                run(256, 0, MigrationMode.PLAIN, 2, "COMMITTED", 140, 14, 2, 1400),
                run(256, 0, MigrationMode.SECURE, 2, "ABORTED_BY_SOURCE", 9000, 5000, 9, 99_000),
                run(256, 0, MigrationMode.PLAIN, 3, "COMMITTED", 120, 12, 4, 1200),
                run(256, 0, MigrationMode.SECURE, 3, "COMMITTED", 500, 50, 5, 5000),
                run(4096, 16, MigrationMode.SECURE, 1, "ABORTED_BY_SOURCE", 30_000, 5000, 7, 1 << 30),
                run(4096, 16, MigrationMode.PLAIN, 1, "COMMITTED", 6000, 40, 3, 4L << 30));
        List<EngineBench.Row> rows = LabBench.rows(results);

        assertEquals(4, rows.size(), rows.toString());
        EngineBench.Row plain = rows.get(0);
        assertEquals(MigrationMode.PLAIN, plain.mode());
        assertEquals(120, plain.totalMs()); // median of 100, 140, 120
        assertEquals(12, plain.downtimeMs());
        assertEquals(2, plain.rounds());
        assertEquals(1200, plain.bytes());
        EngineBench.Row secure = rows.get(1);
        assertEquals(MigrationMode.SECURE, secure.mode());
        assertEquals(400, secure.totalMs()); // the aborted 9000 ms run is left out: median of 300 and 500
        assertEquals(40, secure.downtimeMs());
        assertEquals(4000, secure.bytes());
        assertEquals(2, secure.runs().size());
        assertTrue(secure.committed());
        assertEquals(List.of("run 2: ABORTED_BY_SOURCE: DEADLINE: VM paused without RELEASE for 5000 ms"),
                secure.failures());
        assertEquals(4096, rows.get(2).memMiB());
        assertEquals(MigrationMode.PLAIN, rows.get(2).mode());
        assertTrue(rows.get(2).committed());
        EngineBench.Row never = rows.get(3);
        assertEquals(MigrationMode.SECURE, never.mode());
        assertEquals(EngineBench.ABORTED, never.outcome());
        assertTrue(Double.isNaN(never.totalMs()), "no median without a committed run");
        assertEquals(1, never.failures().size());

        // the engine benchmark's table shows the aborted configuration and why each run did not commit
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        EngineBench.printTable(rows, new PrintStream(b, true, StandardCharsets.UTF_8));
        String table = b.toString(StandardCharsets.UTF_8);
        assertTrue(table.lines().anyMatch(l -> l.matches("secure +4096 +16 +ABORTED .*")), table);
        assertTrue(table.contains("run 2: ABORTED_BY_SOURCE: DEADLINE: VM paused"), table);
        assertTrue(table.contains("4096 MiB wws 16 MiB: a run did not commit: run 1: ABORTED_BY_SOURCE"), table);
    }

    @Test
    void jsonKeepsTheEngineBenchmarksFieldsAndRecordsRunsThatDidNotCommitWithTheirReason() throws Exception {
        List<LabBench.RunResult> results = List.of(
                run(1024, 16, MigrationMode.PLAIN, 1, "COMMITTED", 900, 20, 3, 600_000_000L),
                run(1024, 16, MigrationMode.SECURE, 1, "COMMITTED", 1100, 45, 4, 700_000_000L),
                run(1024, 16, MigrationMode.SECURE, 2, "ABORTED_BY_DESTINATION", 700, 0, 2, 300_000_000L),
                run(4096, 64, MigrationMode.SECURE, 1, "ABORTED_BY_SOURCE", 31_000, 5001, 8, 3_000_000_000L));
        LabBench.Ceiling ceiling = new LabBench.Ceiling(1000, 800, 700, 600, 64, 3);
        JsonNode json = Json.mapper().readTree(LabBench.toJson(LabBench.rows(results), results, ceiling));

        assertEquals(3, json.size(), json.toPrettyString());
        JsonNode plain = json.get(0);
        assertEquals(1024, plain.path("memMiB").asInt());
        assertEquals(16, plain.path("wwsMiB").asInt());
        assertEquals(MigrationMode.PLAIN.toString(), plain.path("mode").asText());
        assertEquals(900, plain.path("totalMs").asDouble());
        assertEquals(20, plain.path("downtimeMs").asDouble());
        assertEquals(3, plain.path("rounds").asInt());
        assertEquals(600_000_000L, plain.path("bytes").asLong());
        assertEquals("COMMITTED", plain.path("outcome").asText());
        assertEquals(0, plain.path("notCommitted").size());
        assertEquals(1000, plain.path("tlsCeilingMBps").asDouble());
        assertEquals(700, plain.path("tlsCeilingMBperCpuSecond").asDouble());

        JsonNode secure = json.get(1);
        assertEquals("COMMITTED", secure.path("outcome").asText());
        assertEquals(1100, secure.path("totalMs").asDouble());
        assertEquals(1, secure.path("runs").size());
        // CPU medians over the committed run only (run 1: 10, 20, 30, 40 ms)
        assertEquals(30, secure.path("cpuMs").path("sourceHypervisor").asLong(), secure.toString());
        assertEquals(40, secure.path("cpuMs").path("destinationHypervisor").asLong(), secure.toString());
        JsonNode aborted = secure.path("notCommitted").get(0);
        assertEquals(2, aborted.path("run").asInt());
        assertEquals("ABORTED_BY_DESTINATION", aborted.path("outcome").asText());
        assertTrue(aborted.path("reason").asText().startsWith("DEADLINE"), aborted.toString());
        assertEquals(40, aborted.path("cpuMs").path("destinationAgent").asLong(), aborted.toString());

        JsonNode never = json.get(2);
        assertEquals(4096, never.path("memMiB").asInt());
        assertEquals("ABORTED", never.path("outcome").asText());
        assertTrue(never.path("failures").get(0).asText().contains("without RELEASE"), never.toString());
        assertTrue(never.path("totalMs").isNull(), "no median without a committed run: " + never);
        assertEquals("ABORTED_BY_SOURCE", never.path("notCommitted").get(0).path("outcome").asText());
        assertEquals(31_000, never.path("notCommitted").get(0).path("totalMs").asDouble());
    }

    @Test
    void cpuTimeIsTheMedianOverCommittedRunsOfAllFourProcessesWithTheSecurePlainRatio() {
        List<LabBench.RunResult> results = List.of(
                run(256, 0, MigrationMode.PLAIN, 1, "COMMITTED", 100, 10, 2, 1000), // CPU 10+20+30+40 = 100
                run(256, 0, MigrationMode.PLAIN, 3, "COMMITTED", 100, 10, 2, 1000), // 300
                run(256, 0, MigrationMode.SECURE, 2, "COMMITTED", 100, 10, 2, 1000), // 200
                run(256, 0, MigrationMode.SECURE, 4, "COMMITTED", 100, 10, 2, 1000), // 400
                run(256, 0, MigrationMode.SECURE, 9, "ABORTED_BY_SOURCE", 100, 10, 2, 1000)); // 900: left out
        assertEquals(200, LabBench.cpuTotalMedian(results, 256, 0, MigrationMode.PLAIN));
        assertEquals(300, LabBench.cpuTotalMedian(results, 256, 0, MigrationMode.SECURE));
        assertTrue(Double.isNaN(LabBench.cpuTotalMedian(results, 1024, 0, MigrationMode.SECURE)));

        ByteArrayOutputStream b = new ByteArrayOutputStream();
        LabBench.printCpu(LabBench.rows(results), results, new PrintStream(b, true, StandardCharsets.UTF_8));
        String printed = b.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("secure   256 MiB wws   0 MiB:     300 ms (1.50 x plain)"), printed);
        assertTrue(printed.contains("plain    256 MiB wws   0 MiB:     200 ms\n"), printed);
    }

    private static List<String> fieldNames(JsonNode o) {
        List<String> names = new java.util.ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void downtimeStepsAreMediansOverCommittedRunsInTheEnginesOrder() {
        java.util.Map<String, Double> a = new java.util.LinkedHashMap<>();
        a.put("lastRound", 2.0);
        a.put("manifest", 10.0);
        java.util.Map<String, Double> b = new java.util.LinkedHashMap<>();
        b.put("lastRound", 4.0);
        b.put("manifest", 30.0);
        java.util.Map<String, Double> c = new java.util.LinkedHashMap<>();
        c.put("lastRound", 3.0);
        c.put("manifest", 20.0);
        LabBench.RunResult aborted = new LabBench.RunResult(256, 0, MigrationMode.SECURE, 4, "ABORTED_BY_SOURCE",
                "x", 1, 1, 1, 1, LabBench.Cpu.UNKNOWN, java.util.Map.of("lastRound", 500.0, "manifest", 900.0));
        List<LabBench.RunResult> results = List.of(withSteps(1, a), withSteps(2, b), withSteps(3, c), aborted);
        java.util.Map<String, Double> m = LabBench.downtimeStepMedians(results, 256, 0, MigrationMode.SECURE);
        assertEquals(List.of("lastRound", "manifest"), List.copyOf(m.keySet()));
        assertEquals(3.0, m.get("lastRound"));
        assertEquals(20.0, m.get("manifest"));
        assertTrue(LabBench.downtimeStepMedians(results, 256, 0, MigrationMode.PLAIN).isEmpty());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LabBench.printDowntimeSteps(LabBench.rows(results), results, new PrintStream(out, true,
                StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("secure   256 MiB wws   0 MiB: lastRound 3.0 manifest 20.0"), printed);
    }

    private static LabBench.RunResult withSteps(int run, java.util.Map<String, Double> steps) {
        return new LabBench.RunResult(256, 0, MigrationMode.SECURE, run, "COMMITTED", "completed", 100, 10, 2, 1000,
                new LabBench.Cpu(1, 1, 1, 1), steps);
    }

    @Test
    void theCeilingSaysHowLongTheBytesTakeAtTheRawRate() {
        LabBench.Ceiling c = new LabBench.Ceiling(500, 400, 300, 200, 64, 3);
        assertEquals(2000.0, c.millisFor(1_000_000_000L), 1e-9);
    }

    @Test
    void aLabIsReplacedOnlyWhenASecureRunWouldTakeItPastItsBudget() {
        assertFalse(LabBench.needsFreshLab(0, 4096, 64), "a fresh lab takes any run");
        assertFalse(LabBench.needsFreshLab(1024, 4096, 2048)); // 1024 + 1024 protected = the budget
        assertTrue(LabBench.needsFreshLab(1025, 4096, 2048));
        assertTrue(LabBench.needsFreshLab(64, 4096, 1024));
        assertFalse(LabBench.needsFreshLab(64, 256, 128)); // 64 + 64
    }

    /** The benchmark end to end in its smallest configuration: a real lab, warm-up, one migration each way, JSON. */
    @Test
    void aTinyLabBenchmarkMigratesSecureAndPlainThroughTheAgentsAndLeavesNoProcessBehind() throws Exception {
        Path json = tmp.resolve("bench.json");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = LabBench.run(new String[] {"--sizes", "16", "--wws", "0", "--runs", "1", "--ceiling-mib", "8",
            "--json", json.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        String progress = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, printed + progress);
        // the warm-up pairs after the lab start, then one pair at the one VM size
        assertEquals(2 * LabBench.WARM_UP_PAIRS + 2, printed.lines().filter(l -> l.startsWith("  warm-up ")).count(),
                printed);

        JsonNode rows = Json.mapper().readTree(Files.readString(json));
        assertEquals(2, rows.size(), rows.toPrettyString());
        for (JsonNode r : rows) {
            assertEquals("COMMITTED", r.path("outcome").asText(), r.toPrettyString() + printed);
            assertEquals(16, r.path("memMiB").asInt());
            assertTrue(r.path("rounds").asInt() >= 1, r.toString());
            // half the pages are filled (the rest travel as zero markers): at least those 8 MiB crossed the channel
            assertTrue(r.path("bytes").asLong() >= 8L << 20, r.toString());
            assertTrue(r.path("totalMs").asDouble() > 0 && r.path("tlsCeilingMBps").asDouble() > 0, r.toString());
            assertTrue(r.path("cpuMs").path("sourceAgent").isNumber(), "CPU of the lab's processes: " + r);
        }
        assertEquals(MigrationMode.PLAIN.toString(), rows.get(0).path("mode").asText());
        assertEquals(MigrationMode.SECURE.toString(), rows.get(1).path("mode").asText());
        // secure mode seals the protected quarter: more bytes than plain on the same VM
        assertTrue(rows.get(1).path("bytes").asLong() > rows.get(0).path("bytes").asLong(), rows.toString());
        assertTrue(printed.contains("loopback TLS 1.3 ceiling before the migrations"), printed);
        assertTrue(printed.lines().anyMatch(l -> l.matches("secure +16 +0 .*")), printed);
        // the agents report where the downtime went: the secure protocol's five steps, plain mode's two
        assertEquals(List.of("lastRound", "resume"), fieldNames(rows.get(0).path("downtimeStepsMs")), printed);
        assertEquals(List.of("lastRound", "manifest", "destinationCheck", "release", "resume"),
                fieldNames(rows.get(1).path("downtimeStepsMs")), printed);
        assertTrue(printed.contains("downtime steps (median ms"), printed);

        // every agent and hypervisor the benchmark's lab started has stopped
        for (ProcessHandle h : ProcessHandle.current().descendants().toList()) {
            String cmd = h.info().commandLine().orElse("");
            if (cmd.contains(SimBackend.HYPERVISOR_MAIN) || cmd.contains(Main.class.getName())) {
                try {
                    h.onExit().get(60, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fail("the benchmark's lab left running: " + cmd);
                }
            }
        }
    }
}
