package org.sealift.agent.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.sealift.agent.config.ConfigLoader;
import org.sealift.protocol.pki.Certificates;

/**
 * Where other agents' channels listen: {@code peer.ID = ADDRESS:PORT} from the configuration, then the optional
 * {@code peers.file} (same lines, re-read at every use so that a lab can write it after its agents picked their
 * ports). Addresses are only where to connect: who answers is checked by the TLS certificate.
 */
final class Peers {

    private final Map<String, InetSocketAddress> configured;
    private final Path file;

    Peers(Map<String, InetSocketAddress> configured, Path file) {
        this.configured = Map.copyOf(configured);
        this.file = file;
    }

    /** Every known peer, configured ones first. */
    Map<String, InetSocketAddress> all() {
        Map<String, InetSocketAddress> out = new TreeMap<>(fromFile());
        out.putAll(configured);
        return out;
    }

    Optional<InetSocketAddress> address(String hostId) {
        InetSocketAddress a = configured.get(hostId);
        return a != null ? Optional.of(a) : Optional.ofNullable(fromFile().get(hostId));
    }

    String whereConfigured() {
        return file == null ? "add 'peer.ID = ADDRESS:PORT' to the agent's configuration"
                : "add 'peer.ID = ADDRESS:PORT' to the agent's configuration or 'ID = ADDRESS:PORT' to " + file;
    }

    private Map<String, InetSocketAddress> fromFile() {
        Map<String, InetSocketAddress> out = new TreeMap<>();
        if (file == null) {
            return out;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            return out;
        }
        for (String raw : lines) {
            String line = raw.strip();
            int eq = line.indexOf('=');
            if (line.isEmpty() || line.startsWith("#") || eq <= 0) {
                continue;
            }
            String id = line.substring(0, eq).strip();
            if (!Certificates.isValidHostId(id)) {
                continue;
            }
            try {
                out.put(id, ConfigLoader.peerAddress(line.substring(eq + 1)));
            } catch (IllegalArgumentException e) {
                // a half-written line while the lab rewrites the file; the next read sees it complete
            }
        }
        return out;
    }
}
