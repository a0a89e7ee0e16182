package org.sealift.agent.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.LogHead;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;

/**
 * This host's hash-chained attestation log (dom0's file {@code attestation.log} in the data directory) and the AK
 * certificates of every host whose signature appears in it ({@code ak-certificates/}, so that an offline verifier
 * gets them with the log). The hypervisor is told about every entry before the file is written: it keeps the log's
 * size and head hash in its sealed state and signs them on request, so a truncated or rolled-back file shows.
 */
final class AttestationStore {

    static final String LOG_FILE = "attestation.log";
    static final String AK_DIR = "ak-certificates";

    private final Path file;
    private final Path akDir;
    private final HypervisorBackend backend;
    private final AttestationLog log;

    /** A problem found when the file was loaded or appended to; reported in the host's health. */
    private volatile String problem;

    AttestationStore(Path dataDir, String hostId, HypervisorBackend backend) throws IOException {
        this.file = dataDir.resolve(LOG_FILE);
        this.akDir = dataDir.resolve(AK_DIR);
        this.backend = backend;
        AttestationLog loaded;
        if (Files.exists(file)) {
            try {
                loaded = AttestationLog.load(file);
                if (!loaded.hostId().equals(hostId)) {
                    throw new IOException("the attestation log " + file + " belongs to host " + loaded.hostId()
                            + ", not " + hostId + "; move it away (it is evidence) and restart");
                }
            } catch (ProtocolException e) {
                throw new IOException("the attestation log " + file + " is damaged (" + e.getMessage()
                        + "); move it away (it is evidence, verify it with 'sealift verify') and restart", e);
            }
        } else {
            loaded = AttestationLog.create(hostId);
        }
        this.log = loaded;
    }

    /**
     * Appends {@code record}: the hypervisor checks index and previous hash against its own head and advances it,
     * then the file is rewritten atomically.
     *
     * @return the new entry's index
     */
    synchronized long append(SignedRecord record) throws HypervisorException, IOException {
        LogEntry next = new LogEntry(log.size(), log.headHash(), record.encoded());
        try {
            backend.appendLogEntry(next.index(), next.previousHash(), next.recordBytes());
        } catch (HypervisorException e) {
            problem = "the hypervisor refused log entry " + next.index() + ": " + e.getMessage()
                    + "; the log file " + file + " and the hypervisor's head disagree (was the file rolled back?)";
            throw e;
        }
        LogEntry added = log.append(record);
        if (!Arrays.equals(added.hash(), next.hash())) {
            throw new IllegalStateException("log entry changed while appending");
        }
        log.save(file);
        return added.index();
    }

    synchronized int size() {
        return log.size();
    }

    synchronized List<LogEntry> page(long from, int limit) {
        List<LogEntry> all = log.entries();
        List<LogEntry> out = new ArrayList<>();
        for (long i = from; i < all.size() && out.size() < limit; i++) {
            out.add(all.get((int) i));
        }
        return out;
    }

    synchronized byte[] encoded() {
        return log.encoded();
    }

    synchronized AttestationLog snapshot() {
        return AttestationLog.of(log.hostId(), log.entries());
    }

    /** The index of the entry for a migration, if this host logged one. */
    synchronized Optional<Long> indexOf(String migrationIdHex) {
        if (indexById == null || indexedSize != log.size()) {
            // built once and then extended: the resolver asks this for every settled migration, often
            Map<String, Long> m = indexById == null ? new HashMap<>() : indexById;
            List<LogEntry> all = log.entries();
            for (int i = indexById == null ? 0 : indexedSize; i < all.size(); i++) {
                LogEntry e = all.get(i);
                try {
                    m.putIfAbsent(Hex.encode(e.record().record().migrationId()), e.index());
                } catch (ProtocolException ex) {
                    // a damaged entry is the verifier's finding, not a match
                }
            }
            indexById = m;
            indexedSize = all.size();
        }
        return Optional.ofNullable(indexById.get(migrationIdHex));
    }

    private Map<String, Long> indexById;
    private int indexedSize;

    /** Compares the file with the hypervisor's own head (signed with a throwaway nonce); null if they agree. */
    String checkAgainstHypervisor() {
        try {
            LogHead head = backend.signLogHead(new byte[32]);
            synchronized (this) {
                if (head.index() != log.size() || !Arrays.equals(head.hash(), log.headHash())) {
                    problem = "the attestation log " + file + " has " + log.size() + " entries but the hypervisor"
                            + " has seen " + head.index() + " appended: the file was truncated, rolled back or edited;"
                            + " keep it as evidence and verify it with 'sealift verify --agent'";
                }
            }
        } catch (HypervisorException e) {
            // not enrolled yet: the hypervisor cannot sign its head; nothing to compare
        }
        return problem;
    }

    String problem() {
        return problem;
    }

    /** Keeps an AK certificate chain (leaf first) seen from a peer or our own hypervisor; public material only. */
    void rememberAk(List<byte[]> chainDer) {
        if (chainDer == null || chainDer.isEmpty()) {
            return;
        }
        try {
            X509Certificate leaf = Certificates.parse(chainDer.get(0));
            Files.createDirectories(akDir);
            Path f = akDir.resolve(Hex.encode(Certificates.fingerprint(leaf)) + ".crt");
            if (!Files.exists(f)) {
                Certificates.write(f, List.of(leaf));
            }
        } catch (ProtocolException | IOException | RuntimeException e) {
            // a malformed chain from an untrusted peer is simply not kept; the verifier would refuse it anyway
        }
    }

    /** The AK certificates known here, by fingerprint. */
    Map<String, String> akCertificatesPem() {
        Map<String, String> out = new TreeMap<>();
        if (!Files.isDirectory(akDir)) {
            return out;
        }
        try (var s = Files.list(akDir)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".crt")).sorted().toList()) {
                String name = p.getFileName().toString();
                out.put(name.substring(0, name.length() - 4), Files.readString(p, StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            // an unreadable directory yields no certificates; the verifier names the missing ones
        }
        return out;
    }
}
