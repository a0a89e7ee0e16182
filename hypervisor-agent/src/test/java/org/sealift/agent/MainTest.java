package org.sealift.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class MainTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void unknownCommandIsAUsageErrorThatNamesTheCommandAndTheFix() {
        assertEquals(Main.EXIT_USAGE, run("frobnicate", "--now"));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertTrue(msg.contains("'frobnicate'"), msg);
        assertTrue(msg.contains("sealift-agent help"), msg);
    }

    @Test
    void operatorCommandsAreReachableThroughTheJarToo() {
        // 'java -jar sealift-agent.jar migrate' reaches the client, whose usage error names what is missing
        assertEquals(2, run("migrate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--vm"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void versionNamesTheRuntime() {
        assertEquals(Main.EXIT_OK, run("version"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("Java " + Runtime.version().feature()));
    }

    @Test
    void agentClassesAreCompiledForJava17SoTheyRunOnADebian12Dom0() throws Exception {
        try (var in = Main.class.getResourceAsStream("Main.class")) {
            byte[] head = in.readNBytes(8);
            int major = ((head[6] & 0xff) << 8) | (head[7] & 0xff);
            assertEquals(61, major, "class file major version (61 = Java 17)");
        }
    }
}
