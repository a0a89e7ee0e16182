package org.sealift.protocol.seal;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.control.Manifest.ProcessEntry;

/**
 * Destination-hypervisor store of protected pages and protected vCPU contexts (docs/protocol.md §7). Every SEALED
 * record is opened on arrival (TAMPERED if it does not authenticate); only the highest version per pfn and per
 * (process, vCPU) is kept, older ones are dropped and counted as REPLAY anomalies; a plain page or zero marker for a
 * pfn held as protected is refused; and {@link #verify(Manifest)} checks the result against the MANIFEST: missing,
 * stale, extra or altered → MANIFEST_MISMATCH. Holds plaintext: hypervisor-only. Thread-safe.
 */
public final class ProtectedPageStore {

    /** What {@link #accept} did with a record. */
    public enum Outcome {
        /** New, or a higher version than held: kept. */
        STORED,
        /** The version already held (a legitimate re-send of the same sealing): ignored. */
        DUPLICATE,
        /** Lower than the version held: dropped and counted as a REPLAY anomaly. */
        STALE_DROPPED
    }

    /** Most problems named in one MANIFEST_MISMATCH message; the total is always given. */
    private static final int MAX_LISTED_PROBLEMS = 5;
    /** zero-marker pfns are remembered (for clearer messages) up to this pfn; 2^26 pages = 256 GiB. */
    private static final int MAX_TRACKED_NORMAL_PFN = 1 << 26;

    private static final class Held {
        final int processId;
        final long version;
        final byte[] tag;
        final byte[] plaintext;

        Held(int processId, long version, byte[] tag, byte[] plaintext) {
            this.processId = processId;
            this.version = version;
            this.tag = tag;
            this.plaintext = plaintext;
        }
    }

    private final Opener opener;
    private final Map<Long, Held> pages = new HashMap<>();
    private final Map<Long, Held> contexts = new HashMap<>();
    private final BitSet normalPfns = new BitSet();
    private long replays;
    private String firstReplay;
    private boolean verified;

    /** @param opener this session's opener (sealing key, migration id, VM id) */
    public ProtectedPageStore(Opener opener) {
        this.opener = Objects.requireNonNull(opener, "opener");
    }

    /** Opens {@code blob} and keeps it if it is newer than what is held. */
    public synchronized Outcome accept(SealedBlob blob) throws ProtocolException {
        if (verified) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, blob + " arrived after the MANIFEST was verified;"
                    + " the protected state is final");
        }
        byte[] plaintext = opener.open(blob);
        boolean page = blob.kind() == SealKind.PAGE;
        long key = page ? blob.target() : contextKey(blob.processId(), (int) blob.target());
        Map<Long, Held> map = page ? pages : contexts;
        Held old = map.get(key);
        if (old != null) {
            if (page && old.processId != blob.processId()) {
                Arrays.fill(plaintext, (byte) 0);
                throw new ProtocolException(Reason.MANIFEST_MISMATCH, "pfn " + blob.target() + " arrived sealed for"
                        + " process " + Integer.toUnsignedString(blob.processId()) + " but is held for process "
                        + Integer.toUnsignedString(old.processId) + "; a protected page never changes owner during a"
                        + " migration");
            }
            int cmp = Long.compareUnsigned(blob.version(), old.version);
            if (cmp == 0) {
                Arrays.fill(plaintext, (byte) 0);
                return Outcome.DUPLICATE;
            }
            if (cmp < 0) {
                Arrays.fill(plaintext, (byte) 0);
                replays++;
                if (firstReplay == null) {
                    firstReplay = blob + " arrived after version " + Long.toUnsignedString(old.version);
                }
                return Outcome.STALE_DROPPED;
            }
            Arrays.fill(old.plaintext, (byte) 0);
        }
        map.put(key, new Held(blob.processId(), blob.version(), blob.tag(), plaintext));
        return Outcome.STORED;
    }

    /**
     * dom0 wrote a normal page or a zero marker for {@code pfn}. Refused if the pfn is held as protected: zero
     * markers and plain pages are for normal pages only.
     */
    public synchronized void acceptNormal(long pfn, boolean zeroMarker) throws ProtocolException {
        if (verified) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "pfn " + pfn + " arrived as a normal page after"
                    + " the MANIFEST was verified");
        }
        Held held = pages.get(pfn);
        if (held != null) {
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, "pfn " + pfn + " is a protected page of process "
                    + Integer.toUnsignedString(held.processId) + " (version " + Long.toUnsignedString(held.version)
                    + ") but arrived as " + (zeroMarker ? "a zero marker" : "a plain page")
                    + "; protected pages only travel sealed");
        }
        if (pfn >= 0 && pfn < MAX_TRACKED_NORMAL_PFN) {
            normalPfns.set((int) pfn);
        }
    }

    /**
     * Checks everything held against {@code manifest}: same migration and VM, every listed page and context held at
     * exactly the listed version with the listed tag, and nothing held that is not listed. On success the store is
     * final and its plaintext may be installed.
     */
    public synchronized void verify(Manifest manifest) throws ProtocolException {
        if (verified) {
            throw new IllegalStateException("the store was already verified");
        }
        manifest.checkSession(opener.migrationId(), opener.vmId());
        List<String> problems = new ArrayList<>();
        long[] count = {0};
        Map<Integer, ProcessEntry> byId = new HashMap<>();
        for (ProcessEntry p : manifest.processes()) {
            byId.put(p.processId(), p);
            for (int i = 0; i < p.pageCount(); i++) {
                long pfn = p.pfn(i);
                compare(problems, count, "pfn " + pfn, p.processId(), pages.get(pfn), p.pageVersion(i), p.pageTag(i),
                        pfn >= 0 && pfn < MAX_TRACKED_NORMAL_PFN && normalPfns.get((int) pfn));
            }
            for (int i = 0; i < p.contextCount(); i++) {
                int vcpu = p.vcpuId(i);
                compare(problems, count, "vCPU context " + Integer.toUnsignedString(vcpu), p.processId(),
                        contexts.get(contextKey(p.processId(), vcpu)), p.contextVersion(i), p.contextTag(i), false);
            }
        }
        for (var e : pages.entrySet()) {
            ProcessEntry p = byId.get(e.getValue().processId);
            if (p == null || p.pageIndex(e.getKey()) < 0) {
                problem(problems, count, "extra: pfn " + e.getKey() + " of process "
                        + Integer.toUnsignedString(e.getValue().processId) + " (version "
                        + Long.toUnsignedString(e.getValue().version) + ") arrived but is not in the manifest");
            }
        }
        for (var e : contexts.entrySet()) {
            int pid = (int) (e.getKey() >>> 32);
            int vcpu = (int) (long) e.getKey();
            ProcessEntry p = byId.get(pid);
            if (p == null || p.contextIndex(vcpu) < 0) {
                problem(problems, count, "extra: vCPU context " + Integer.toUnsignedString(vcpu) + " of process "
                        + Integer.toUnsignedString(pid) + " arrived but is not in the manifest");
            }
        }
        if (count[0] > 0) {
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, count[0] + " protected item(s) do not match"
                    + " the MANIFEST " + manifest.digestHex().substring(0, 16) + "…: " + String.join("; ", problems)
                    + (count[0] > problems.size() ? "; …" : "") + ". The destination will not issue READY.");
        }
        verified = true;
    }

    private static void compare(List<String> problems, long[] count, String what, int processId, Held held,
            long version, byte[] tag, boolean seenAsNormal) {
        String item = what + " of process " + Integer.toUnsignedString(processId);
        if (held == null) {
            problem(problems, count, "missing: " + item + " version " + Long.toUnsignedString(version)
                    + " never arrived sealed" + (seenAsNormal ? " (it arrived only as a normal page or zero marker;"
                            + " protected pages are never sent that way)" : ""));
        } else if (held.processId != processId) {
            problem(problems, count, "wrong owner: " + what + " arrived for process "
                    + Integer.toUnsignedString(held.processId) + ", the manifest says process "
                    + Integer.toUnsignedString(processId));
        } else if (Long.compareUnsigned(held.version, version) < 0) {
            problem(problems, count, "stale: " + item + " is held at version " + Long.toUnsignedString(held.version)
                    + ", the manifest names version " + Long.toUnsignedString(version));
        } else if (Long.compareUnsigned(held.version, version) > 0) {
            problem(problems, count, "extra: " + item + " arrived at version " + Long.toUnsignedString(held.version)
                    + ", newer than the manifest's version " + Long.toUnsignedString(version));
        } else if (!MessageDigest.isEqual(held.tag, tag)) {
            problem(problems, count, "altered: " + item + " version " + Long.toUnsignedString(version)
                    + " has a different tag than the manifest lists");
        }
    }

    private static void problem(List<String> problems, long[] count, String text) {
        if (problems.size() < MAX_LISTED_PROBLEMS) {
            problems.add(text);
        }
        count[0]++;
    }

    private static long contextKey(int processId, int vcpuId) {
        return (Integer.toUnsignedLong(processId) << 32) | Integer.toUnsignedLong(vcpuId);
    }

    /** True once {@link #verify} succeeded. */
    public synchronized boolean isVerified() {
        return verified;
    }

    /** REPLAY anomalies: sealed records dropped because a newer version was already held. */
    public synchronized long replayCount() {
        return replays;
    }

    /** The first REPLAY anomaly, for the attestation record, or null. */
    public synchronized String firstReplay() {
        return firstReplay;
    }

    public synchronized int pageCount() {
        return pages.size();
    }

    public synchronized int contextCount() {
        return contexts.size();
    }

    /** A copy of the verified plaintext of protected page {@code pfn}, to install at resume. */
    public synchronized byte[] page(long pfn) {
        requireVerified();
        Held h = pages.get(pfn);
        return h == null ? null : h.plaintext.clone();
    }

    /** A copy of the verified saved vCPU context of a protected process, to install at resume. */
    public synchronized byte[] context(int processId, int vcpuId) {
        requireVerified();
        Held h = contexts.get(contextKey(processId, vcpuId));
        return h == null ? null : h.plaintext.clone();
    }

    private void requireVerified() {
        if (!verified) {
            throw new IllegalStateException("protected plaintext is released only after the MANIFEST verified");
        }
    }

    /** Overwrites all plaintext (the destination issued ABORT, or installed everything). */
    public synchronized void destroy() {
        for (Held h : pages.values()) {
            Arrays.fill(h.plaintext, (byte) 0);
        }
        for (Held h : contexts.values()) {
            Arrays.fill(h.plaintext, (byte) 0);
        }
        pages.clear();
        contexts.clear();
    }
}
