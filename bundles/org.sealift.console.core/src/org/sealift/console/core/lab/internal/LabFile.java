package org.sealift.console.core.lab.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sealift.console.core.lab.LabStatus;

/**
 * What a running lab wrote to {@code lab.json} in its folder (the agent's {@code LabInfo}): the owner process, the
 * agents with their API addresses and pids, the operator's credentials, the trust file and the policy.
 */
record LabFile(long labPid, List<Entry> agents, Path operatorCert, Path operatorKey, Path clusterCa, Path trust,
        Path policy) {

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
            Map<String, Object> m = MiniJson.object(MiniJson.parse(text), NAME);
            List<Entry> agents = new ArrayList<>();
            for (Object o : MiniJson.array(m.get("agents"), "agents")) {
                Map<String, Object> a = MiniJson.object(o, "agent");
                agents.add(new Entry(MiniJson.string(a, "host"), URI.create(MiniJson.string(a, "api")),
                        MiniJson.number(a, "pid"), MiniJson.number(a, "hypervisorPid"), MiniJson.bool(a, "rogue")));
            }
            Map<String, Object> op = MiniJson.object(m.get("operator"), "operator");
            return Optional.of(new LabFile(MiniJson.number(m, "labPid"), agents, path(op, "cert"), path(op, "key"),
                    path(op, "ca"), path(m, "trust"), path(m, "policy")));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IOException(f + " cannot be read (" + e.getMessage() + "); it is written by 'sealift lab':"
                    + " stop that lab with 'sealift lab --stop' and start it again", e);
        }
    }

    private static Path path(Map<String, Object> m, String key) {
        String s = MiniJson.string(m, key);
        return s == null ? null : Path.of(s);
    }

    static boolean alive(long pid) {
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    List<LabStatus.Agent> statusAgents() {
        return agents.stream().map(a -> new LabStatus.Agent(a.host(), a.api(), a.pid(), alive(a.pid()), a.rogue()))
                .toList();
    }
}
