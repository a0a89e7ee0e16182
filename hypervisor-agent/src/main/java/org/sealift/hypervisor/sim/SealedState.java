package org.sealift.hypervisor.sim;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

import org.sealift.agent.spi.MigrationId;
import org.sealift.protocol.attest.AttestationLog;

/**
 * The hypervisor's decisions (migrations and their commit state, the attestation-log head, the installed policy),
 * sealed with AES-256-GCM under a key from the simulated hardware and bound to the hardware's monotonic counter.
 * The file lives in dom0's storage ({@code <state-dir>/sealed-state.bin}): dom0 can delete, replace or roll it back,
 * but cannot read or forge it, and the counter tells the hypervisor whether it is the newest.
 *
 * <p>Write order: the state is written carrying the counter's current value c, then the counter goes to c+1; only
 * then does the hypervisor act on the decision. At start it accepts a state carrying c−1 (normal) or c (a crash hit
 * between the two writes; it then completes the increment). Anything else — no file while the counter is above 0, a
 * file that does not open, an older counter — means the state was deleted or rolled back: the history is lost, every
 * migration that was not final is in doubt, unknown migration ids are refused, and nothing in doubt is resumed or
 * aborted until an operator's token or fence decides it.
 */
final class SealedState {

    static final String FILE = "sealed-state.bin";
    private static final byte[] MAGIC = "SLFT-SST".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT = 1;
    private static final int KEEP_FINAL = 512;

    private final Path file;
    private final Hardware hardware;
    private final SecureRandom random = new SecureRandom();

    final Map<MigrationId, MigrationRecord> migrations = new LinkedHashMap<>();
    boolean historyLost;
    String doubtReason = "";
    long logSize;
    byte[] logHead;
    byte[] policy = new byte[0];
    /** Times the file on disk was found changed behind the hypervisor's back while it ran. */
    long tamperDetected;
    private byte[] lastWritten;

    private SealedState(Path file, Hardware hardware) {
        this.file = file;
        this.hardware = hardware;
        this.logHead = AttestationLog.genesis(hardware.hostId());
    }

    static SealedState load(Path stateDir, Hardware hardware) throws IOException {
        SealedState s = new SealedState(stateDir.resolve(FILE), hardware);
        long counter = hardware.counter();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(s.file);
        } catch (NoSuchFileException e) {
            if (counter == 0) {
                return s; // a new host
            }
            s.lose("the sealed state " + s.file + " is missing while the hardware counter is at " + counter
                    + " (deleted)");
            s.persist();
            return s;
        }
        long stored;
        byte[] plain;
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            if (!Arrays.equals(magic, MAGIC) || b.getInt() != FORMAT) {
                throw new IOException("not a sealed state file");
            }
            stored = b.getLong();
            byte[] nonce = new byte[12];
            b.get(nonce);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, hardware.stateKey(), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(hardware.hostId(), stored));
            plain = c.doFinal(bytes, b.position(), b.remaining());
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            s.lose("the sealed state " + s.file + " does not open with this host's key (replaced or damaged)");
            s.persist();
            return s;
        }
        s.decode(plain);
        if (stored == counter - 1) {
            s.lastWritten = bytes;
        } else if (stored == counter) {
            // the last run wrote the state but died before the counter moved: finish that step
            hardware.incrementCounter();
            s.lastWritten = bytes;
        } else {
            s.lose("the sealed state carries counter " + stored + " but the hardware counter is at " + counter
                    + " (rolled back)");
            s.persist();
            return s;
        }
        s.settleResumed();
        // Re-commit what was recovered twice, so that the counter moves two steps past every version that passed
        // the check: otherwise dom0 could hand this restart an older acceptable version (one below the counter)
        // while keeping a newer sealed-but-not-counted one, and hand that back at the next restart. The commit
        // model (docs/commit-model.pml, mutant MUT_NO_RECOMMIT) finds a fork without this.
        s.persist();
        s.persist();
        return s;
    }

    /**
     * A destination seals RESUMING together with the DONE token and writes COMMITTED lazily (docs/commit-model.pml's
     * D_RESUMING is terminal): a RESUMING record read back from an accepted state means the host went down after that
     * decision, so it is settled as COMMITTED. Left open, it would hold its VM's lock for ever and never get its
     * attestation record signed (signed only once final). Not applied to a rolled-back state: that stays in doubt.
     */
    private void settleResumed() {
        for (MigrationRecord r : migrations.values()) {
            if (r.role == org.sealift.agent.spi.MigrationRole.DESTINATION
                    && r.state == org.sealift.agent.spi.MigrationState.RESUMING && !r.inDoubt
                    && r.tokens.containsKey(org.sealift.protocol.token.TokenKind.DONE)) {
                r.state = org.sealift.agent.spi.MigrationState.COMMITTED;
                if (r.endMillis == 0) {
                    r.endMillis = System.currentTimeMillis();
                }
            }
        }
    }

    /** The history is gone: every migration that was not final is in doubt; unknown ones will be refused. */
    private void lose(String reason) {
        historyLost = true;
        doubtReason = reason;
        for (MigrationRecord r : migrations.values()) {
            if (!r.state.isFinal()) {
                r.inDoubt = true;
                r.detail = "in doubt: " + reason + "; this host will neither resume nor abort it: import the peer's "
                        + "token or an operator's fence";
            }
        }
    }

    static byte[] aad(String hostId, long counter) {
        byte[] h = hostId.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(MAGIC.length + 8 + h.length).put(MAGIC).putLong(counter).put(h).array();
    }

    /** Seals the state at the current counter, then advances the counter. Callers act only after this returns. */
    void persist() throws IOException {
        prune();
        long counter = hardware.counter();
        byte[] plain = encode();
        byte[] nonce = new byte[12];
        random.nextBytes(nonce);
        byte[] sealed;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, hardware.stateKey(), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(hardware.hostId(), counter));
            sealed = c.doFinal(plain);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot seal the decision state: " + e.getMessage(), e);
        }
        byte[] out = ByteBuffer.allocate(MAGIC.length + 4 + 8 + 12 + sealed.length).put(MAGIC).putInt(FORMAT)
                .putLong(counter).put(nonce).put(sealed).array();
        Files.createDirectories(file.getParent());
        Hardware.writeAtomically(file, out);
        hardware.incrementCounter();
        lastWritten = out;
    }

    /**
     * True if the file on disk is the one this hypervisor last wrote. While it runs, its memory is the truth: a file
     * changed by dom0 is counted and rewritten, so a later restart does not start from dom0's version.
     */
    boolean checkIntact() throws IOException {
        byte[] now;
        try {
            now = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            now = null;
        }
        if (lastWritten == null && now == null) {
            return true;
        }
        if (now != null && lastWritten != null && Arrays.equals(now, lastWritten)) {
            return true;
        }
        tamperDetected++;
        persist();
        return false;
    }

    long counter() throws IOException {
        return hardware.counter();
    }

    private void prune() {
        List<MigrationId> finals = new ArrayList<>();
        for (MigrationRecord r : migrations.values()) {
            if (r.state.isFinal()) {
                finals.add(r.id);
            }
        }
        for (int i = 0; i < finals.size() - KEEP_FINAL; i++) {
            migrations.remove(finals.get(i));
        }
    }

    private byte[] encode() throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bo)) {
            out.writeBoolean(historyLost);
            out.writeUTF(doubtReason);
            out.writeLong(logSize);
            MigrationRecord.writeBytes(out, logHead);
            MigrationRecord.writeBytes(out, policy);
            out.writeLong(tamperDetected);
            out.writeInt(migrations.size());
            for (MigrationRecord r : migrations.values()) {
                r.write(out);
            }
        }
        return bo.toByteArray();
    }

    private void decode(byte[] plain) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(plain))) {
            historyLost = in.readBoolean();
            doubtReason = in.readUTF();
            logSize = in.readLong();
            logHead = MigrationRecord.readBytes(in);
            policy = MigrationRecord.readBytes(in);
            tamperDetected = in.readLong();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                MigrationRecord r = MigrationRecord.read(in);
                migrations.put(r.id, r);
            }
        }
    }
}
