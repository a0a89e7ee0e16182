package org.sealift.console.core.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.core.attest.AttestationEntry;
import org.sealift.console.core.attest.AttestationExport;
import org.sealift.console.core.attest.AttestationFilter;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.attest.ImportResult;
import org.sealift.console.core.attest.RecordVerification;
import org.sealift.console.core.attest.Verdict;
import org.sealift.console.core.settings.SettingsException;
import org.sealift.console.core.settings.TrustMaterial;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Pem;

@Component(service = AttestationReviewService.class)
public final class AttestationReviewServiceImpl implements AttestationReviewService {

    /** A log file starts with these bytes (docs/protocol-attestation.md §8.1). */
    private static final byte[] LOG_MAGIC = "SMP1/LOG".getBytes(StandardCharsets.US_ASCII);
    /** Larger files are refused before reading: record files are a few KiB, logs up to AttestationLog's limit. */
    private static final long MAX_FILE_BYTES = AttestationLog.MAX_FILE_BYTES;

    private final Map<String, AttestationEntry> entries = new LinkedHashMap<>();
    private final List<Consumer<List<AttestationEntry>>> listeners = new CopyOnWriteArrayList<>();
    private final Clock clock;
    private TrustMaterialService trust;

    public AttestationReviewServiceImpl() {
        this.clock = Clock.systemUTC();
    }

    public AttestationReviewServiceImpl(TrustMaterialService trust, Clock clock) {
        this.trust = trust;
        this.clock = clock;
    }

    @Reference
    void bindTrust(TrustMaterialService t) {
        trust = t;
    }

    @Override
    public synchronized List<AttestationEntry> entries() {
        List<AttestationEntry> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(AttestationEntry::started));
        return out;
    }

    @Override
    public List<AttestationEntry> filter(AttestationFilter filter) {
        return entries().stream().filter(filter::matches).toList();
    }

    @Override
    public void addListener(Consumer<List<AttestationEntry>> listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(Consumer<List<AttestationEntry>> listener) {
        listeners.remove(listener);
    }

    @Override
    public ImportResult importFile(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                return new ImportResult(0, 0, List.of(file + " is " + size + " bytes, more than an attestation log"
                        + " may hold (" + MAX_FILE_BYTES + "): is it the right file?"));
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return new ImportResult(0, 0, List.of("cannot read " + file + ": " + e.getMessage()));
        }
        if (startsWith(bytes, LOG_MAGIC)) {
            return importLog(file, bytes);
        }
        List<SignedRecord> records = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try {
            List<Pem.Block> blocks = Pem.decode(new String(bytes, StandardCharsets.US_ASCII));
            int n = 0;
            for (Pem.Block b : blocks) {
                if (!SignedRecord.PEM_TYPE.equals(b.type())) {
                    continue;
                }
                n++;
                try {
                    records.add(SignedRecord.parse(b.content()));
                } catch (ProtocolException e) {
                    problems.add(file + ", record " + n + ": " + e.getMessage());
                }
            }
            if (n == 0) {
                problems.add(file + " holds no \"" + SignedRecord.PEM_TYPE + "\" block and is not an attestation"
                        + " log: choose a record file (.pem) or a host's attestation log");
            }
        } catch (IOException e) {
            problems.add(file + " is neither a PEM record file nor an attestation log: " + e.getMessage());
        }
        ImportResult r = add(records, file.toString());
        List<String> all = new ArrayList<>(problems);
        all.addAll(r.problems());
        return new ImportResult(r.added(), r.known(), all);
    }

    private ImportResult importLog(Path file, byte[] bytes) {
        AttestationLog log;
        try {
            log = AttestationLog.parse(bytes);
        } catch (ProtocolException e) {
            return new ImportResult(0, 0, List.of(file + " is not a readable attestation log: " + e.getMessage()));
        }
        List<AttestationEntry> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (LogEntry le : log.entries()) {
            try {
                found.add(new AttestationEntry(le.record(), file.toString(), log.hostId(), le.index()));
            } catch (ProtocolException e) {
                problems.add(file + ", entry " + Long.toUnsignedString(le.index()) + ": " + e.getMessage());
            }
        }
        int[] counts = store(found);
        return new ImportResult(counts[0], counts[1], problems);
    }

    @Override
    public ImportResult add(List<SignedRecord> records, String origin) {
        List<AttestationEntry> found = new ArrayList<>();
        for (SignedRecord r : records) {
            found.add(new AttestationEntry(r, origin, null, -1));
        }
        int[] counts = store(found);
        return new ImportResult(counts[0], counts[1], List.of());
    }

    @Override
    public ImportResult addEntries(List<AttestationEntry> list) {
        int[] counts = store(list);
        return new ImportResult(counts[0], counts[1], List.of());
    }

    private int[] store(List<AttestationEntry> found) {
        int added = 0;
        int known = 0;
        synchronized (this) {
            for (AttestationEntry e : found) {
                if (entries.putIfAbsent(e.key(), e) == null) {
                    added++;
                } else {
                    known++;
                }
            }
        }
        if (added > 0) {
            List<AttestationEntry> now = entries();
            listeners.forEach(l -> l.accept(now));
        }
        return new int[] { added, known };
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    @Override
    public Verdict verify(AttestationEntry entry) {
        TrustMaterial tm;
        try {
            tm = trust.load();
        } catch (SettingsException e) {
            return cannotVerify("record " + entry.label(), e);
        }
        return RecordVerification.verifyRecord(entry.signed(), tm, clock.instant());
    }

    @Override
    public Verdict verifyLog(Path logFile) {
        TrustMaterial tm;
        try {
            tm = trust.load();
        } catch (SettingsException e) {
            return cannotVerify("log " + logFile, e);
        }
        try {
            return RecordVerification.verifyLog(AttestationLog.load(logFile), tm, clock.instant());
        } catch (IOException | ProtocolException e) {
            return new Verdict("log " + logFile, false, List.of("cannot read " + logFile + ": " + e.getMessage()),
                    List.of(), clock.instant());
        }
    }

    private Verdict cannotVerify(String subject, SettingsException e) {
        return new Verdict(subject, false, List.of("cannot verify: " + e.getMessage()), List.of(), clock.instant());
    }

    @Override
    public void exportJson(List<AttestationEntry> list, Map<String, Verdict> verdicts, Path file) throws IOException {
        write(file, AttestationExport.json(list, verdicts));
    }

    @Override
    public void exportHtml(List<AttestationEntry> list, Map<String, Verdict> verdicts, Path file) throws IOException {
        write(file, AttestationExport.html(list, verdicts, clock.instant()));
    }

    private static void write(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
