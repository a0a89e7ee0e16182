package org.sealift.hypervisor.sim;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealKind;
import org.sealift.protocol.seal.SealedBlob;

/**
 * What the destination hypervisor holds of a secure migration's protected state (docs/protocol.md §7), kept in the
 * incoming domain itself rather than beside it: each SEALED record is opened once (TAMPERED if it does not
 * authenticate for this session) and, if it is newer than what the page holds, its plaintext goes straight into the
 * (never running) process with its version, and its tag into a table here; the same version again is a duplicate, an
 * older one is dropped and counted as a REPLAY anomaly. {@link #verify} checks every page and context against the
 * MANIFEST (missing, stale, extra, altered, wrong owner → MANIFEST_MISMATCH); after it, no further record is taken.
 * Nothing here runs before RELEASE; on ABORT the domain is zeroized.
 *
 * <p>Thread-safe: records are taken in parallel (per-page locks of the process); verification excludes them.
 */
final class ReceivedState {

    private static final int MAX_LISTED_PROBLEMS = 5;
    private static final int TAG = SealedBlob.TAG_LENGTH;

    /** What {@link #accept} did with a record. */
    enum Outcome {
        STORED, DUPLICATE, STALE_DROPPED
    }

    private final Domain domain;
    private final Opener opener;
    /**
     * The MANIFEST this destination expects from what it accepted: the domain's layout with the version and tag of
     * each held page and context (the source keeps the same table of what it sealed).
     */
    private final ManifestTable expected;
    /** A context arrived for a process or vCPU that is not in the layout (the MANIFEST check reports it). */
    private boolean unlisted;
    /** (process id, vCPU) → held context. Guarded by {@code this}. */
    private final Map<Long, Held> contexts = new HashMap<>();
    private final ReentrantReadWriteLock verification = new ReentrantReadWriteLock();
    private final ThreadLocal<byte[]> plain = ThreadLocal.withInitial(() -> new byte[Domain.PAGE]);
    private boolean verified;
    private long replays;
    private String firstReplay;

    private record Held(int processId, int vcpu, long version, byte[] tag, byte[] plaintext) {
    }

    ReceivedState(Domain domain, Opener opener) {
        this.domain = domain;
        this.opener = opener;
        this.expected = new ManifestTable(opener.migrationId(), opener.vmId(), domain.processes);
    }

    /**
     * Opens {@code blob} and keeps it if it is newer than what is held. A page must be one of this VM's protected
     * pfns (checked by the caller before opening) and, once authenticated, sealed for the process that owns it here.
     */
    Outcome accept(SealedBlob blob) throws ProtocolException {
        verification.readLock().lock();
        try {
            if (verified) {
                throw new ProtocolException(Reason.UNEXPECTED_RECORD, blob + " arrived after the MANIFEST was"
                        + " verified; the protected state is final");
            }
            return blob.kind() == SealKind.PAGE ? acceptPage(blob) : acceptContext(blob);
        } finally {
            verification.readLock().unlock();
        }
    }

    private Outcome acceptPage(SealedBlob blob) throws ProtocolException {
        byte[] page = plain.get();
        try {
            opener.open(blob, page, 0);
            long pfn = blob.target();
            ProtectedProcess p = domain.ownerOf(pfn);
            if (p == null || p.processId != blob.processId()) {
                throw new ProtocolException(Reason.MANIFEST_MISMATCH, "pfn " + pfn + " arrived sealed for process "
                        + Integer.toUnsignedString(blob.processId()) + " but belongs to "
                        + (p == null ? "no protected process" : "process " + Integer.toUnsignedString(p.processId))
                        + " of VM " + domain.config.name() + "; a protected page never changes owner during a migration");
            }
            int idx = domain.indexInOwner(pfn);
            int pi = domain.processes.indexOf(p);
            synchronized (p.lockFor(idx)) {
                int cmp = Long.compareUnsigned(blob.version(), p.version(idx));
                if (cmp == 0) {
                    return Outcome.DUPLICATE;
                }
                if (cmp < 0) {
                    replay(blob + " arrived after version " + Long.toUnsignedString(p.version(idx)));
                    return Outcome.STALE_DROPPED;
                }
                p.stage(idx, page, blob.version());
                expected.page(pi, idx, blob);
                return Outcome.STORED;
            }
        } finally {
            Arrays.fill(page, (byte) 0);
        }
    }

    private synchronized Outcome acceptContext(SealedBlob blob) throws ProtocolException {
        byte[] plaintext = opener.open(blob);
        long key = (Integer.toUnsignedLong(blob.processId()) << 32) | blob.target();
        Held old = contexts.get(key);
        if (old != null) {
            int cmp = Long.compareUnsigned(blob.version(), old.version());
            if (cmp <= 0) {
                Arrays.fill(plaintext, (byte) 0);
                if (cmp < 0) {
                    replay(blob + " arrived after version " + Long.toUnsignedString(old.version()));
                    return Outcome.STALE_DROPPED;
                }
                return Outcome.DUPLICATE;
            }
            Arrays.fill(old.plaintext(), (byte) 0);
        }
        contexts.put(key, new Held(blob.processId(), (int) blob.target(), blob.version(), blob.tag(), plaintext));
        ProtectedProcess p = domain.process(blob.processId());
        if (p != null && blob.target() >= 0 && blob.target() < p.vcpus()) {
            expected.context(domain.processes.indexOf(p), (int) blob.target(), blob);
        } else {
            unlisted = true;
        }
        return Outcome.STORED;
    }

    private synchronized void replay(String what) {
        replays++;
        if (firstReplay == null) {
            firstReplay = what;
        }
    }

    /**
     * The usual case, checked in one pass: if {@code plaintext} (an opened MANIFEST) is exactly the MANIFEST of what is
     * held — the same session and layout, every page and context held at the listed version with the listed tag, no
     * context held that is not listed, and a correct digest — nothing more is accepted and its digest is returned.
     * Otherwise null, and nothing changes: the caller decodes it and {@link #verify verifies} it entry by entry, which
     * names what differs.
     */
    byte[] verifyExact(byte[] plaintext) {
        verification.writeLock().lock();
        try {
            if (verified) {
                throw new IllegalStateException("the received state was already verified");
            }
            byte[] digest;
            synchronized (this) {
                digest = unlisted ? null : expected.digestIfSame(plaintext);
            }
            if (digest != null) {
                verified = true;
            }
            return digest;
        } finally {
            verification.writeLock().unlock();
        }
    }

    /** The key of the process at {@code processIndex} from a MANIFEST plaintext that {@link #verifyExact} accepted. */
    byte[] key(byte[] plaintext, int processIndex) {
        byte[] key = new byte[Manifest.KEY_LENGTH];
        expected.copyKey(plaintext, processIndex, key);
        return key;
    }

    /** The held version of the context of the process at {@code processIndex} on {@code vcpu} (0: none). */
    synchronized long contextVersion(int processIndex, int vcpu) {
        return expected.contextVersion(processIndex, vcpu);
    }

    /**
     * Checks everything held against {@code manifest}, whose processes, pfns and context counts the caller already
     * matched to this domain's layout: every page and context held at exactly the listed version with the listed tag,
     * no context held that is not listed. On success nothing more is accepted.
     */
    void verify(Manifest manifest) throws ProtocolException {
        verification.writeLock().lock();
        try {
            if (verified) {
                throw new IllegalStateException("the received state was already verified");
            }
            manifest.checkSession(opener.migrationId(), opener.vmId());
            List<String> problems = new ArrayList<>();
            long[] count = {0};
            byte[] tag = new byte[TAG];
            for (Manifest.ProcessEntry e : manifest.processes()) {
                ProtectedProcess p = domain.process(e.processId());
                int pi = domain.processes.indexOf(p);
                String process = " of process " + Integer.toUnsignedString(e.processId());
                for (int i = 0; i < e.pageCount(); i++) {
                    long held = p.version(i);
                    long listed = e.pageVersion(i);
                    if (held == listed) {
                        expected.copyPageTag(pi, i, tag);
                        if (!e.pageTagEquals(i, tag)) {
                            problem(problems, count, "altered: pfn " + e.pfn(i) + process + " version "
                                    + Long.toUnsignedString(listed) + " has a different tag than the manifest lists");
                        }
                    } else {
                        problem(problems, count, mismatch("pfn " + e.pfn(i) + process, held, listed));
                    }
                }
                for (int c = 0; c < e.contextCount(); c++) {
                    int vcpu = e.vcpuId(c);
                    Held h = contexts(e.processId(), vcpu);
                    long held = h == null ? 0 : h.version();
                    long listed = e.contextVersion(c);
                    String what = "vCPU context " + Integer.toUnsignedString(vcpu) + process;
                    if (held != listed) {
                        problem(problems, count, mismatch(what, held, listed));
                    } else if (!MessageDigest.isEqual(h.tag(), e.contextTag(c))) {
                        problem(problems, count, "altered: " + what + " version " + Long.toUnsignedString(listed)
                                + " has a different tag than the manifest lists");
                    }
                }
            }
            synchronized (this) {
                for (Held h : contexts.values()) {
                    Manifest.ProcessEntry e = manifest.process(h.processId());
                    int vcpu = h.vcpu();
                    if (e == null || e.contextIndex(vcpu) < 0) {
                        problem(problems, count, "extra: vCPU context " + Integer.toUnsignedString(vcpu)
                                + " of process " + Integer.toUnsignedString(h.processId())
                                + " arrived but is not in the manifest");
                    }
                }
            }
            if (count[0] > 0) {
                throw new ProtocolException(Reason.MANIFEST_MISMATCH, count[0] + " protected item(s) do not match"
                        + " the MANIFEST " + manifest.digestHex().substring(0, 16) + "…: "
                        + String.join("; ", problems) + (count[0] > problems.size() ? "; …" : "")
                        + ". The destination will not issue READY.");
            }
            verified = true;
        } finally {
            verification.writeLock().unlock();
        }
    }

    private static String mismatch(String what, long held, long listed) {
        if (held == 0) {
            return "missing: " + what + " version " + Long.toUnsignedString(listed) + " never arrived sealed";
        }
        if (Long.compareUnsigned(held, listed) < 0) {
            return "stale: " + what + " is held at version " + Long.toUnsignedString(held)
                    + ", the manifest names version " + Long.toUnsignedString(listed);
        }
        return "extra: " + what + " arrived at version " + Long.toUnsignedString(held)
                + ", newer than the manifest's version " + Long.toUnsignedString(listed);
    }

    private static void problem(List<String> problems, long[] count, String text) {
        if (problems.size() < MAX_LISTED_PROBLEMS) {
            problems.add(text);
        }
        count[0]++;
    }

    private synchronized Held contexts(int processId, int vcpu) {
        return contexts.get((Integer.toUnsignedLong(processId) << 32) | Integer.toUnsignedLong(vcpu));
    }

    /** A copy of the verified saved context of a protected process, to install at resume. */
    synchronized byte[] context(int processId, int vcpu) {
        if (!verified) {
            throw new IllegalStateException("protected contexts are released only after the MANIFEST verified");
        }
        Held h = contexts(processId, vcpu);
        return h == null ? null : h.plaintext().clone();
    }

    synchronized long replayCount() {
        return replays;
    }

    synchronized String firstReplay() {
        return firstReplay;
    }

    /** Overwrites the held contexts (the pages live in the domain, which the caller zeroizes or runs). */
    synchronized void destroy() {
        for (Held h : contexts.values()) {
            Arrays.fill(h.plaintext(), (byte) 0);
        }
        contexts.clear();
    }
}
