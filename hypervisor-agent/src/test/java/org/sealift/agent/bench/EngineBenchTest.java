package org.sealift.agent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.engine.Deadlines;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.model.MigrationMode;

/**
 * The engine benchmark keeps going when a run does not commit: the run is recorded as ABORTED with its reason in the
 * table and the JSON, and the other configurations are still measured. (What it measures is not asserted: speed is
 * for benchmarks, not tests.)
 */
class EngineBenchTest {

    @TempDir
    Path dir;

    @Test
    void aRunThatMissesItsDeadlineIsRecordedAsAbortedAndTheBenchmarkGoesOn() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        EngineBench bench = new EngineBench(List.of(16), List.of(0), 1, 50, out);
        bench.warmupMiB = 0;
        // a paused-without-RELEASE deadline no secure stop-and-copy can meet; plain mode does not have that deadline
        Deadlines d = Deadlines.DEFAULTS;
        bench.engine = EngineConfig.DEFAULTS.withDeadlines(new Deadlines(d.handshake(), d.precopySilence(),
                Duration.ofNanos(1), d.destinationAfterReady()));
        List<EngineBench.Row> rows = bench.measure(dir);

        assertEquals(2, rows.size(), log.toString(StandardCharsets.UTF_8));
        EngineBench.Row plain = rows.get(0);
        EngineBench.Row secure = rows.get(1);
        assertEquals(MigrationMode.PLAIN, plain.mode());
        assertTrue(plain.committed(), plain.failures().toString());
        assertEquals(MigrationMode.SECURE, secure.mode());
        assertEquals(EngineBench.ABORTED, secure.outcome());
        assertEquals(1, secure.failures().size());
        assertTrue(secure.failures().get(0).contains("DEADLINE"), secure.failures().get(0));
        assertTrue(Double.isNaN(secure.totalMs()));

        EngineBench.printTable(rows, out);
        String table = log.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("ABORTED"), table);
        assertTrue(table.contains("secure 16 MiB wws 0 MiB: a run did not commit: source ABORTED_BY_SOURCE"), table);

        String json = EngineBench.toJson(rows);
        assertTrue(json.contains("\"mode\": \"secure\", \"outcome\": \"ABORTED\", \"totalMs\": null"), json);
        assertTrue(json.contains("\"mode\": \"plain\", \"outcome\": \"COMMITTED\", \"totalMs\": "), json);
        assertTrue(json.contains("\"failures\": [\"source ABORTED_BY_SOURCE: DEADLINE"), json);
        assertFalse(json.contains("NaN"), json);
    }

    @Test
    void jsonStringsAreEscaped() {
        assertEquals("\"a \\\"b\\\" \\\\ c\\n\\u0001\"", EngineBench.jsonString("a \"b\" \\ c\n\u0001"));
    }
}
