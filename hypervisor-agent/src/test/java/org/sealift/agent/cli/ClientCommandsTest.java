package org.sealift.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.api.Json;

/** The CLI without a cluster: usage errors, unreachable agents, and how outcomes map to exit codes. */
class ClientCommandsTest {

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Map<String, String> env, String command, String... args) {
        out.reset();
        err.reset();
        return new ClientCommands(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true,
                StandardCharsets.UTF_8), Clock.systemUTC(), env).run(command, List.of(args));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void usageErrorsExitWithTwoAndSayWhatIsMissing() {
        assertEquals(2, run(Map.of(), "migrate", "--to", "h2"));
        assertTrue(err().contains("--vm is required"), err());
        assertEquals(2, run(Map.of(), "migrate", "--vm", "db-01", "--to", "h2", "--mode", "fast"));
        assertTrue(err().contains("--mode must be secure or plain"), err());
        assertEquals(2, run(Map.of(), "migrate", "--vm", "db-01", "--to", "h2", "--max-rounds", "0"));
        assertEquals(2, run(Map.of(), "migrate", "--vm", "db-01", "--to", "h2", "--speed", "9"));
        assertTrue(err().contains("--speed"), err());
        assertEquals(2, run(Map.of("SEALIFT_CLIENT_CONFIG", ""), "hosts"));
        assertTrue(err().contains("which agent?") || err().contains("client configuration"), err());
        assertEquals(2, run(Map.of(), "verify"));
        assertTrue(err().contains("--ca FILE is needed"), err());
    }

    @Test
    void aClientConfigurationIsCheckedAndAnUnreachableAgentExitsWithThree() throws Exception {
        CaFixture ca = new CaFixture(tmp).initialized();
        Path ops = ca.enrolledOperator("alice");
        Path bad = tmp.resolve("bad.conf");
        Files.writeString(bad, "cert = alice.crt\nagent.h1 https://127.0.0.1:1\n");
        assertEquals(2, run(Map.of(), "vms", "--config", bad.toString()));
        assertTrue(err().contains("is not cert, key, ca or agent.HOST = URL") && err().contains("'key = FILE' is"
                + " missing"), err());
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Path conf = ops.resolve("client.conf");
        Files.writeString(conf, "cert = alice.crt\nkey = alice.key\nca = ca.crt\nagent.h1 = https://127.0.0.1:"
                + closedPort + "\n");
        assertEquals(3, run(Map.of(), "hosts", "--config", conf.toString()));
        assertTrue(err().contains("unreachable: h1: cannot reach agent h1"), err());
        assertEquals(3, run(Map.of("SEALIFT_CLIENT_CONFIG", conf.toString()), "migrate", "--vm", "db-01", "--to",
                "h2", "--from", "h1"));
        assertTrue(err().contains("cannot reach agent h1"), err());
        assertEquals(3, run(Map.of(), "migrate", "--vm", "db-01", "--to", "h2", "--agent", "https://127.0.0.1:"
                + closedPort, "--cert", ops.resolve("alice.crt").toString(), "--key", ops.resolve("alice.key")
                        .toString(), "--ca", ops.resolve("ca.crt").toString()));
    }

    @Test
    void verifyingSomethingThatIsNoRecordFails() throws Exception {
        CaFixture ca = new CaFixture(tmp).initialized();
        Path junk = tmp.resolve("junk.log");
        Files.writeString(junk, "not a log");
        assertEquals(1, run(Map.of(), "verify", junk.toString(), "--ca", ca.ca.resolve("cluster-trust.pem")
                .toString(), "--policy", ca.ca.resolve("policy.pem").toString()));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("not an attestation record or log"), out.toString());
    }

    @Test
    void outcomesMapToExitCodes() throws Exception {
        assertEquals(0, exit("{\"outcome\":\"COMMITTED\",\"inDoubt\":false}"));
        assertEquals(4, exit("{\"outcome\":\"COMMITTED\",\"inDoubt\":true}"), "in doubt is not a commit yet");
        assertEquals(5, exit("{\"outcome\":\"REJECTED\",\"reason\":\"DEADLINE: handshake\"}"));
        assertEquals(4, exit("{\"outcome\":\"ABORTED_BY_SOURCE\",\"reason\":\"DEADLINE: paused\"}"));
        assertEquals(5, exit("{\"outcome\":\"ABORTED_BY_DESTINATION\",\"reason\":\"the destination aborted\","
                + "\"attestation\":{\"reason\":\"TAMPERED\"}}"));
        assertEquals(5, exit("{\"outcome\":\"ABORTED_BY_DESTINATION\",\"reason\":\"the destination aborted\","
                + "\"peer\":{\"outcome\":\"ABORTED_BY_DESTINATION\",\"reason\":\"MANIFEST_MISMATCH: stale\"}}"));
        // an operator's cancel is neither an attack nor the policy: aborted, exit 4, by the agent's and the record's reason
        assertEquals(4, exit("{\"outcome\":\"ABORTED_BY_SOURCE\",\"reason\":\"CANCELLED: cancelled by the operator"
                + " before RELEASE\",\"attestation\":{\"reason\":\"CANCELLED\"}}"));
    }

    private static int exit(String json) throws Exception {
        return ClientCommands.exitCode(Json.mapper().readTree(json));
    }
}
