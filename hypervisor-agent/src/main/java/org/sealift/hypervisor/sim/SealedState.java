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
    /** 2: two copies of {@code MAGIC, FORMAT, counter u64, length u32, nonce [12], sealed [length], zeros}. */
    private static final int FORMAT = 2;
    /** Header of one copy: magic, format, counter, length, nonce. */
    private static final int SLOT_HEADER = 8 + 4 + 8 + 4 + 12;
    /** Smallest copy; copies double as the state grows (a state of 512 final records is about 300 KB). */
    static final int MIN_SLOT = 64 * 1024;
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
        // the newest copy that opens; a copy that does not open is a write a crash tore, or dom0's doing
        Opened newest = null;
        boolean unopened = false;
        for (int slot = 0; slot < 2; slot++) {
            Opened o = isSlotFile(bytes) ? s.open(bytes, slot) : slot == 0 ? s.openFormat1(bytes) : null;
            if (o == null) {
                unopened |= !blank(bytes, slot);
            } else if (newest == null || Long.compareUnsigned(o.counter, newest.counter) > 0) {
                newest = o;
            }
        }
        if (newest == null) {
            s.lose("the sealed state " + s.file + " does not open with this host's key (replaced or damaged)");
            s.persist();
            return s;
        }
        long stored = newest.counter;
        byte[] plain = newest.plain;
        s.decode(plain);
        if (stored == counter - 1) {
            s.lastWritten = bytes;
        } else if (stored == counter) {
            // the last run wrote the state but died before the counter moved: finish that step
            hardware.incrementCounter();
            s.lastWritten = bytes;
        } else {
            s.lose("the sealed state carries counter " + stored + " but the hardware counter is at " + counter
                    + " (rolled back" + (unopened ? "; its other copy does not open with this host's key: replaced or"
                    + " damaged" : "") + ")");
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

    /**
     * Seals the state at the current counter c into copy c mod 2 of the file, then advances the counter. Callers act
     * only after this returns. The file holds two fixed-size copies, so a write overwrites the older copy in place and
     * is made durable with one data sync (no new file, rename or journal commit: 0.3 ms against 1–9 ms for
     * tmp + fsync + rename on this project's machine under load); a crash that tears it leaves the newer copy, which
     * is the state before this decision, and the counter has not moved. When the state outgrows its copies, or the
     * file is not the one this hypervisor wrote, the whole file is replaced atomically instead.
     */
    void persist() throws IOException {
        write(false);
    }

    private void write(boolean replaceFile) throws IOException {
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
        int need = SLOT_HEADER + sealed.length;
        int slot = (int) (counter & 1);
        // the size of each copy in the file last written by this hypervisor (0: none of this layout)
        int previous = lastWritten != null && isSlotFile(lastWritten) ? lastWritten.length / 2 : 0;
        boolean inPlace = !replaceFile && previous >= need && Files.exists(file)
                && Files.size(file) == lastWritten.length;
        byte[] image;
        if (inPlace) {
            image = lastWritten.clone();
        } else {
            int size = Math.max(previous, MIN_SLOT);
            while (size < need) {
                size *= 2;
            }
            // a fresh file of two copies; the other copy is empty, or keeps the last state (one the next write
            // replaces), so that a torn first write in place still finds a copy
            image = new byte[2 * size];
            if (previous > 0) {
                System.arraycopy(lastWritten, (1 - slot) * previous, image, (1 - slot) * size, previous);
            }
        }
        int size = image.length / 2;
        ByteBuffer b = ByteBuffer.wrap(image, slot * size, size).slice();
        b.put(MAGIC).putInt(FORMAT).putLong(counter).putInt(sealed.length).put(nonce).put(sealed);
        Files.createDirectories(file.getParent());
        if (inPlace) {
            // only the new copy's octets; what lies after them in the copy is ignored (its length says where it ends)
            Hardware.writeInPlace(file, slot * (long) size, image, slot * size, need);
        } else {
            Hardware.writeAtomically(file, image);
        }
        hardware.incrementCounter();
        lastWritten = image;
    }

    /** Copy {@code slot} of a file this class wrote (header, then the sealed state), or null if it does not open. */
    private Opened open(byte[] bytes, int slot) {
        int size = bytes.length / 2;
        ByteBuffer b = ByteBuffer.wrap(bytes, slot * size, size).slice();
        if (!magic(b, FORMAT)) {
            return null;
        }
        long stored = b.getLong();
        int length = b.getInt();
        if (length < 16 || length > b.remaining() - 12) {
            return null;
        }
        return unseal(stored, b, bytes, slot * size + SLOT_HEADER, length);
    }

    /** A state file of format 1 (one copy, before 2026-11-28), read once; the next write replaces it. */
    private Opened openFormat1(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < MAGIC.length + 4 + 8 + 12 + 16 || !magic(b, 1)) {
            return null;
        }
        long stored = b.getLong();
        int at = MAGIC.length + 4 + 8 + 12;
        return unseal(stored, b, bytes, at, bytes.length - at);
    }

    private static boolean magic(ByteBuffer b, int format) {
        byte[] magic = new byte[MAGIC.length];
        b.get(magic);
        return Arrays.equals(magic, MAGIC) && b.getInt() == format;
    }

    /** Opens {@code length} sealed octets at {@code offset}; the nonce is next in {@code header}. */
    private Opened unseal(long counter, ByteBuffer header, byte[] bytes, int offset, int length) {
        byte[] nonce = new byte[12];
        header.get(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, hardware.stateKey(), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(hardware.hostId(), counter));
            return new Opened(counter, c.doFinal(bytes, offset, length));
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            return null;
        }
    }

    private record Opened(long counter, byte[] plain) {
    }

    /** True for a copy that was never written (all zeros), or the second "copy" of a file of another layout. */
    private static boolean blank(byte[] bytes, int slot) {
        if (!isSlotFile(bytes)) {
            return slot == 1;
        }
        int size = bytes.length / 2;
        for (int i = slot * size; i < (slot + 1) * size; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Two copies of a power-of-two size from {@link #MIN_SLOT}: the layout this class writes. */
    private static boolean isSlotFile(byte[] bytes) {
        int size = bytes.length / 2;
        return bytes.length % 2 == 0 && size >= MIN_SLOT && Integer.bitCount(size) == 1;
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
        write(true); // the whole file: dom0's version must not survive beside the new copy
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
