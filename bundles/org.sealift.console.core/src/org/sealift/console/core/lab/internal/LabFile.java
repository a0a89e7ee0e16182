package org.sealift.console.core.lab.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.sealift.console.core.lab.LabStatus;

/**
 * What a running lab wrote to {@code lab.json} in its folder (the agent's {@code LabInfo}): the owner process, the
 * agents with their API addresses and pids, the operator's credentials, the trust file and the policy.
 */
record LabFile(long labPid, List<Entry> agents, Path operatorCert, Path operatorKey, Path clusterCa, Path trust,
        Path policy, URI control) {

    static final String NAME = "lab.json";

    record Entry(String host, URI api, long pid, long hypervisorPid, boolean rogue) {
    }

    /** Empty if the folder has no lab.json; an exception naming the file if it cannot be read. */
    static Optional<LabFile> read(Path folder) throws IOException {
        Path f = folder.resolve(NAME);
        String text;
        try {
            text = Files.readString(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            JsonNode m = LabAgentClient.JSON.readTree(text);
            if (m == null || !m.isObject() || !m.path("agents").isArray() || !m.path("operator").isObject()) {
                throw new IllegalArgumentException("not a lab description (an object with agents and operator)");
            }
            List<Entry> agents = new ArrayList<>();
            for (JsonNode a : m.get("agents")) {
                agents.add(new Entry(a.get("host").asText(), URI.create(a.get("api").asText()),
                        a.path("pid").asLong(0), a.path("hypervisorPid").asLong(0), a.path("rogue").asBoolean(false)));
            }
            JsonNode op = m.get("operator");
            // a lab from an older build has no control API
            URI control = m.hasNonNull("control") ? URI.create(m.get("control").asText()) : null;
            return Optional.of(new LabFile(m.path("labPid").asLong(0), agents, path(op, "cert"), path(op, "key"),
                    path(op, "ca"), path(m, "trust"), path(m, "policy"), control));
        } catch (JsonProcessingException | IllegalArgumentException | NullPointerException e) {
            throw new IOException(f + " cannot be read (" + e.getMessage() + "); it is written by 'sealift lab':"
                    + " stop that lab with 'sealift lab --stop' and start it again", e);
        }
    }

    private static Path path(JsonNode m, String key) {
        return m.hasNonNull(key) ? Path.of(m.get(key).asText()) : null;
    }

    static boolean alive(long pid) {
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    List<LabStatus.Agent> statusAgents() {
        return agents.stream().map(a -> new LabStatus.Agent(a.host(), a.api(), a.pid(), alive(a.pid()), a.rogue(),
                alive(a.hypervisorPid()))).toList();
    }
}
