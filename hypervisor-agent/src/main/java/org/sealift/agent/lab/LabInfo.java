package org.sealift.agent.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

import org.sealift.agent.api.Json;

/**
 * What a running lab writes to {@code lab.json} in its folder, for the CLI's {@code --lab}, the console and a second
 * {@code sealift lab} (which attaches instead of starting another cluster).
 *
 * @param dir      the lab folder
 * @param labPid   the process that started the lab and stops it on Ctrl-C
 * @param agents   one per host, rogue ones marked
 * @param operator the lab operator's client certificate, key and the cluster CA certificate
 * @param trust    cluster-trust.pem (CA + policy signer), for verifiers
 * @param policy   the current signed policy
 * @param control  the lab control API (crash and restart lab hosts; loopback, the operator's certificate), or null
 *                 for a lab written by an older build
 */
public record LabInfo(String dir, long labPid, List<Agent> agents, Operator operator, String trust, String policy,
        String control) {

    public static final String FILE = "lab.json";

    /** One lab host: its agent's API URL and channel, the pids of agent and hypervisor. */
    public record Agent(String host, String api, String channel, long pid, long hypervisorPid, boolean rogue,
            String akCertificate) {
    }

    public record Operator(String cert, String key, String ca) {
    }

    /** The same lab with other agents (after a host or agent restart). */
    LabInfo withAgents(List<Agent> next) {
        return new LabInfo(dir, labPid, List.copyOf(next), operator, trust, policy, control);
    }

    public Optional<Agent> agent(String host) {
        return agents.stream().filter(a -> a.host().equals(host)).findFirst();
    }

    public static Optional<LabInfo> read(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.mapper().readValue(Files.readAllBytes(f), LabInfo.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    void write(Path dir) throws IOException {
        Path tmp = dir.resolve(FILE + ".tmp");
        Files.writeString(tmp, Json.writeString(this), StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The lab folder when none is given: $SEALIFT_LAB_DIR, else ./.sealift/lab. */
    public static Path defaultDir() {
        String env = System.getenv("SEALIFT_LAB_DIR");
        return (env != null && !env.isBlank() ? Path.of(env) : Path.of(".sealift", "lab")).toAbsolutePath()
                .normalize();
    }
}
