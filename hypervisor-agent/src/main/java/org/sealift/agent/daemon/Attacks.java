package org.sealift.agent.daemon;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.sealift.agent.engine.attack.BackendInterposer;
import org.sealift.agent.engine.attack.StreamInterposer;
import org.sealift.agent.engine.attack.StreamInterposer.Direction;
import org.sealift.agent.engine.attack.StreamInterposer.Record;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.VendorRoot;
import org.sealift.protocol.wire.RecordType;

/**
 * Fault injection for training labs ({@code allow-fault-injection}): this agent plays the malicious dom0 of
 * PROTOCOL.md against a real migration, with the engine's attack interposers on the stream and on the backend
 * interface. Nothing here can open a sealed page or sign anything a hypervisor would accept; each attack only shows
 * that the hypervisors catch it. What the attacker did and what the hypervisor answered is written to the
 * migration's anomalies ({@code notes}).
 */
final class Attacks {

    private static final int SEALED_PAGE = 1;
    /** HELLO layout (docs/protocol-handshake.md §2.1): policy serial at 8, AK chain from 112. */
    private static final int HELLO_SERIAL_OFFSET = 8;
    private static final int HELLO_CHAIN_OFFSET = 112;

    /** The attacks {@code --inject} knows, with what the lab should see. */
    enum Attack {
        REPLAY("replay", true, "re-sends an older sealing of protected pages instead of their newest version:"
                + " the manifest exposes the stale copy (ABORTED_BY_DESTINATION, MANIFEST_MISMATCH)"),
        TAMPER("tamper", true, "flips one bit of a sealed protected page: ABORTED_BY_DESTINATION, TAMPERED"),
        SWAP("swap", true, "swaps the page numbers of two sealed pages: ABORTED_BY_DESTINATION, TAMPERED"),
        REORDER("reorder", false, "holds the MANIFEST back and delivers it after the source's ABORT:"
                + " ABORTED_BY_SOURCE (DEADLINE), the destination records REORDERED"),
        DROP_MANIFEST("drop-manifest", false, "drops the MANIFEST: the source's paused-without-RELEASE deadline"
                + " passes, ABORTED_BY_SOURCE (DEADLINE), the VM runs at the source"),
        EARLY_RESUME("early-resume", false, "the destination's dom0 starts the verified copy before RELEASE: the"
                + " hypervisor refuses; the migration commits with the refusal recorded"),
        FORK("fork", false, "the source's dom0 resumes the VM after RELEASE: the hypervisor refuses; COMMITTED with"
                + " the refusal recorded"),
        RESUME_AFTER_MANIFEST("resume-after-manifest", false, "the source's dom0 resumes the VM after the MANIFEST:"
                + " the hypervisor records ABORT first and refuses what dom0 asks next (the last sealings, RELEASE):"
                + " ABORTED_BY_SOURCE"),
        DOUBLE_MIGRATION("double-migration", false, "the source's dom0 starts a second migration of the VM during"
                + " the first: the hypervisor's migration lock refuses it; the first commits"),
        ROLLBACK_STATE("rollback-state", false, "the source's dom0 rolls the hypervisor's sealed state back to before"
                + " the migration after RELEASE and resumes the VM: detected and refused; COMMITTED"),
        STALL("stall", false, "holds the destination's READY: the source's deadline passes, ABORTED_BY_SOURCE"
                + " (DEADLINE); the destination aborts after its own deadline and zeroizes"),
        HOLD_DONE("hold-done", false, "holds the destination's DONE after RELEASE: the source keeps the VM paused and"
                + " in doubt until its agent re-serves RELEASE and gets DONE back: COMMITTED, one running copy"),
        HOLD_HELLO("hold-hello", false, "holds the source's HELLO: the migration stops before the handshake until"
                + " the source's handshake deadline passes: REJECTED (DEADLINE); for crash exercises"),
        HOLD_PRECOPY("hold-precopy", false, "holds the second page record of pre-copy and everything after it: the"
                + " migration stops mid pre-copy until the silence deadline passes; for crash exercises"),
        HOLD_MANIFEST("hold-manifest", false, "holds the MANIFEST: the source is frozen, the destination still in"
                + " pre-copy, until the source's paused-without-RELEASE deadline: ABORTED_BY_SOURCE; for crash"
                + " exercises"),
        HOLD_READY("hold-ready", false, "holds the destination's READY (as stall does): for crash exercises after"
                + " READY"),
        HOLD_RELEASE("hold-release", false, "holds the source's RELEASE: the source has released, the destination"
                + " holds its verified copy, until its READY deadline passes: in doubt, then settled by the agent's"
                + " re-served RELEASE; for crash exercises"),
        IMPERSONATE("impersonate", false, "sends the migration to another host that pretends to be the requested"
                + " one: the source hypervisor refuses its HELLO_REPLY: REJECTED"),
        UNENDORSED_KEY("unendorsed-key", false, "puts an attestation key dom0 made itself (certified by its own CA,"
                + " no endorsement) into HELLO: REJECTED"),
        OLD_POLICY("old-policy", false, "replays an older policy to its hypervisor (refused) and claims the older"
                + " serial in HELLO: the destination rejects the withheld update: REJECTED (REPLAY)");

        final String label;
        final boolean needsProtectedPages;
        final String effect;

        Attack(String label, boolean needsProtectedPages, String effect) {
            this.label = label;
            this.needsProtectedPages = needsProtectedPages;
            this.effect = effect;
        }

        static Optional<Attack> byLabel(String label) {
            return Arrays.stream(values()).filter(a -> a.label.equals(label.toLowerCase(Locale.ROOT))).findFirst();
        }

        static String labels() {
            return Arrays.stream(values()).map(a -> a.label).collect(Collectors.joining(", "));
        }

        /** Played by the destination's dom0 (the source tells it in the offer). */
        boolean atDestination() {
            return this == EARLY_RESUME || this == HOLD_DONE;
        }
    }

    /** What an attack does to one migration at the source. */
    record SourcePlan(StreamInterposer.Tamper stream, BackendInterposer.Hook hook, Runnable before) {
    }

    private Attacks() {
    }

    /**
     * The source side of {@code attack}.
     *
     * @param real      the real backend (the hook's own malicious calls go straight to the hypervisor)
     * @param stateFile the hypervisor's sealed-state file as dom0 sees it (sim), for rollback-state
     * @param oldPolicy an older signed policy dom0 kept, for old-policy (may be null)
     */
    static SourcePlan source(Attack attack, HypervisorBackend real, int domId, String destination, Path stateFile,
            byte[] oldPolicy, java.util.function.LongSupplier tamperDetections, Consumer<String> notes) {
        StreamInterposer.Tamper stream = null;
        BackendInterposer.Hook hook = null;
        Runnable before = null;
        switch (attack) {
            case REPLAY -> stream = replay(notes);
            case TAMPER -> stream = tamper(notes);
            case SWAP -> stream = swap(notes);
            case REORDER -> stream = reorder(notes);
            case DROP_MANIFEST -> stream = (r, out) -> {
                if (r.is(RecordType.MANIFEST)) {
                    notes.accept("drop-manifest: dom0 dropped the MANIFEST (" + r + ")");
                    return;
                }
                out.forward(r);
            };
            case STALL -> stream = (r, out) -> {
                if (r.direction == Direction.DESTINATION_TO_SOURCE && r.is(RecordType.READY)) {
                    notes.accept("stall: dom0 holds the destination's READY and stops forwarding");
                    out.stall();
                }
                out.forward(r);
            };
            case HOLD_HELLO -> stream = hold(notes, Direction.SOURCE_TO_DESTINATION, RecordType.HELLO, 1);
            case HOLD_PRECOPY -> stream = stallAt(notes, RecordType.PAGE_BATCH, 2);
            case HOLD_MANIFEST -> stream = hold(notes, Direction.SOURCE_TO_DESTINATION, RecordType.MANIFEST, 1);
            case HOLD_READY -> stream = hold(notes, Direction.DESTINATION_TO_SOURCE, RecordType.READY, 1);
            case HOLD_RELEASE -> stream = hold(notes, Direction.SOURCE_TO_DESTINATION, RecordType.RELEASE, 1);
            case UNENDORSED_KEY -> stream = unendorsedKey(notes);
            case OLD_POLICY -> {
                before = () -> {
                    if (oldPolicy == null) {
                        notes.accept("old-policy: no older policy file (old-policy.pem) to replay to the hypervisor");
                        return;
                    }
                    try {
                        real.installPolicy(oldPolicy);
                        notes.accept("old-policy: the hypervisor ACCEPTED an older policy (not expected)");
                    } catch (HypervisorException e) {
                        notes.accept("old-policy: dom0 replayed an older policy to its hypervisor: refused ("
                                + e.reason() + ": " + e.getMessage() + ")");
                    }
                };
                stream = (r, out) -> {
                    if (r.direction == Direction.SOURCE_TO_DESTINATION && r.is(RecordType.HELLO)) {
                        ByteBuffer b = ByteBuffer.wrap(r.body);
                        long serial = b.getLong(HELLO_SERIAL_OFFSET);
                        b.putLong(HELLO_SERIAL_OFFSET, Math.max(0, serial - 1));
                        notes.accept("old-policy: dom0 rewrote HELLO to claim policy serial " + Math.max(0, serial - 1)
                                + " instead of " + serial);
                    }
                    out.forward(r);
                };
            }
            case FORK -> hook = (call, result) -> {
                if (call.equals("source.release")) {
                    notes.accept("fork: dom0 resumed the VM at the source after RELEASE: " + tryResume(real, domId));
                }
            };
            case RESUME_AFTER_MANIFEST -> hook = (call, result) -> {
                if (call.equals("source.manifest")) {
                    notes.accept("resume-after-manifest: dom0 resumed the VM at the source after the MANIFEST: "
                            + tryResume(real, domId) + " (a resume after the MANIFEST first records ABORT for the"
                            + " migration, so nothing after it, RELEASE least of all, is granted)");
                }
            };
            case DOUBLE_MIGRATION -> hook = (call, result) -> {
                if (call.equals("source.onHelloReply")) {
                    try {
                        SourceSession second = real.beginSecureSource(SourceRequest.to(domId, destination));
                        notes.accept("double-migration: the hypervisor ALLOWED a second migration " + second.id()
                                + " (not expected)");
                    } catch (HypervisorException e) {
                        notes.accept("double-migration: dom0 started a second migration of the VM: refused by the"
                                + " hypervisor's migration lock (" + e.reason() + ": " + e.getMessage() + ")");
                    }
                }
            };
            case ROLLBACK_STATE -> {
                byte[][] saved = new byte[1][];
                before = () -> {
                    try {
                        saved[0] = stateFile == null ? null : Files.readAllBytes(stateFile);
                        notes.accept("rollback-state: dom0 copied the hypervisor's sealed state (" + stateFile + ")");
                    } catch (java.io.IOException e) {
                        notes.accept("rollback-state: dom0 could not copy " + stateFile + ": " + e.getMessage());
                    }
                };
                hook = (call, result) -> {
                    if (call.equals("source.release") && saved[0] != null) {
                        long detectedBefore = tamperDetections.getAsLong();
                        Files.write(stateFile, saved[0]);
                        String resumed = tryResume(real, domId);
                        notes.accept("rollback-state: after RELEASE dom0 put the old sealed state back and resumed"
                                + " the VM: " + resumed + "; the hypervisor's count of sealed-state changes behind"
                                + " its back went from " + detectedBefore + " to " + tamperDetections.getAsLong());
                    }
                };
            }
            case EARLY_RESUME, HOLD_DONE, IMPERSONATE -> {
                // played at the destination, resp. by choosing where to connect
            }
            default -> throw new IllegalStateException(attack.label);
        }
        return new SourcePlan(stream, hook, before);
    }

    /** The destination side: the only attack played there is early-resume. */
    static BackendInterposer.Hook destination(Attack attack, HypervisorBackend real, int domId,
            Consumer<String> notes, HeldOutput held) {
        if (attack == Attack.HOLD_DONE) {
            return (call, result) -> {
                if (call.equals("destination.onRelease")) {
                    held.hold();
                    notes.accept("hold-done: the VM resumed here; dom0 holds this host's DONE and everything after it"
                            + " and keeps the connection open, so the source waits for DONE");
                }
            };
        }
        if (attack != Attack.EARLY_RESUME) {
            return (call, result) -> { };
        }
        return (call, result) -> {
            if (call.equals("destination.onManifest")) {
                notes.accept("early-resume: dom0 started the incoming VM before RELEASE: " + tryResume(real, domId));
            }
        };
    }

    /**
     * Holds back, in one direction, the {@code nth} record of {@code type} and everything after it: the migration
     * waits at that step, and the note (published as an anomaly event) tells a crash exercise the moment has come.
     * Unlike a stall it keeps reading what it holds back, so that the end of the connection (a crashed peer) still
     * reaches the other side at once.
     */
    private static StreamInterposer.Tamper hold(Consumer<String> notes, Direction direction, RecordType type, int nth) {
        AtomicInteger seen = new AtomicInteger();
        AtomicBoolean holding = new AtomicBoolean();
        String label = "hold-" + (type == RecordType.PAGE_BATCH ? "precopy" : type.name().toLowerCase(Locale.ROOT));
        return (r, out) -> {
            if (r.direction == direction) {
                if (holding.get()) {
                    return;
                }
                if (r.is(type) && seen.incrementAndGet() == nth) {
                    holding.set(true);
                    notes.accept(label + ": dom0 holds " + (nth > 1 ? "page record " + nth + " (" + r + ")" : r)
                            + " and everything after it " + (direction == Direction.SOURCE_TO_DESTINATION
                                    ? "to the destination" : "to the source"));
                    return;
                }
            }
            out.forward(r);
        };
    }

    /**
     * Stops forwarding to the destination at the {@code nth} record of {@code type}: unlike {@link #hold} the source
     * backs up (its writes block once the buffers are full), so that its engine stays in the step it was in.
     */
    private static StreamInterposer.Tamper stallAt(Consumer<String> notes, RecordType type, int nth) {
        AtomicInteger seen = new AtomicInteger();
        return (r, out) -> {
            if (r.direction == Direction.SOURCE_TO_DESTINATION && r.is(type) && seen.incrementAndGet() == nth) {
                notes.accept("hold-precopy: dom0 holds page record " + nth + " (" + r + ") and stops forwarding to"
                        + " the destination; the source backs up");
                out.stall();
            }
            out.forward(r);
        };
    }

    /**
     * The destination's side of the agent channel as dom0 can hold it: once {@link #hold()} is called nothing more
     * reaches the source (the bytes are dropped) and closing does not close the connection, which the agent then
     * keeps open until the source ends it ({@link #awaitPeerEnd}).
     */
    static final class HeldOutput extends java.io.FilterOutputStream {
        private volatile boolean held;

        HeldOutput(java.io.OutputStream out) {
            super(out);
        }

        void hold() {
            held = true;
        }

        boolean held() {
            return held;
        }

        @Override
        public void write(int b) throws java.io.IOException {
            if (!held) {
                out.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            if (!held) {
                out.write(b, off, len);
            }
        }

        @Override
        public void flush() throws java.io.IOException {
            if (!held) {
                out.flush();
            }
        }

        @Override
        public void close() throws java.io.IOException {
            if (!held) {
                out.close();
            }
        }

        /** Reads (and drops) what the source still sends until it closes the connection or dies. */
        static void awaitPeerEnd(java.io.InputStream in) {
            byte[] sink = new byte[8192];
            try {
                while (in.read(sink) >= 0) {
                    // the source sends nothing more than END; it closes when its DONE deadline passes
                }
            } catch (java.io.IOException e) {
                // the connection broke: the source is gone
            }
        }
    }

    private static String tryResume(HypervisorBackend real, int domId) {
        try {
            real.resume(domId);
            return "the hypervisor allowed it";
        } catch (HypervisorException e) {
            return "refused by the hypervisor (" + e.reason() + ": " + e.getMessage() + ")";
        }
    }

    private static boolean sealedPage(Record r) {
        return r.direction == Direction.SOURCE_TO_DESTINATION && r.is(RecordType.SEALED)
                && r.sealedKind() == SEALED_PAGE;
    }

    private static StreamInterposer.Tamper tamper(Consumer<String> notes) {
        AtomicBoolean done = new AtomicBoolean();
        return (r, out) -> {
            if (sealedPage(r) && done.compareAndSet(false, true)) {
                r.body[r.body.length / 2] ^= 1;
                notes.accept("tamper: dom0 flipped one bit of the sealed page pfn " + r.sealedTarget());
            }
            out.forward(r);
        };
    }

    private static StreamInterposer.Tamper swap(Consumer<String> notes) {
        Record[] held = new Record[1];
        AtomicBoolean done = new AtomicBoolean();
        return (r, out) -> {
            if (sealedPage(r) && !done.get()) {
                if (held[0] == null) {
                    held[0] = r;
                    return;
                }
                long a = held[0].sealedTarget();
                long b = r.sealedTarget();
                ByteBuffer.wrap(held[0].body).putLong(16, b);
                ByteBuffer.wrap(r.body).putLong(16, a);
                done.set(true);
                notes.accept("swap: dom0 swapped the sealed pages pfn " + a + " and pfn " + b);
                out.forward(r);
                out.forward(held[0]);
                return;
            }
            if (held[0] != null && !done.get() && !sealedPage(r)) {
                // only one sealed page came before something else: let it pass unswapped
                out.forward(held[0]);
                held[0] = null;
            }
            out.forward(r);
        };
    }

    /**
     * Withholds every newer sealing of a page and sends its first one again instead. If the protected pages do not
     * change during the migration there is no older sealing to replay, so the FINISH record (a handshake record
     * from earlier in this stream) is replayed before the MANIFEST instead.
     */
    private static StreamInterposer.Tamper replay(Consumer<String> notes) {
        Map<Long, Record> first = new HashMap<>();
        AtomicInteger replayed = new AtomicInteger();
        Record[] finish = new Record[1];
        return (r, out) -> {
            if (r.direction == Direction.SOURCE_TO_DESTINATION && r.is(RecordType.FINISH)) {
                finish[0] = r.copy();
            }
            if (sealedPage(r)) {
                Record old = first.putIfAbsent(r.sealedTarget(), r.copy());
                if (old != null && old.sealedVersion() < r.sealedVersion()) {
                    if (replayed.getAndIncrement() == 0) {
                        notes.accept("replay: dom0 replays the sealing of pfn " + r.sealedTarget() + " version "
                                + old.sealedVersion() + " in place of version " + r.sealedVersion()
                                + " (and so for every newer sealing)");
                    }
                    out.forward(old);
                    return;
                }
            }
            if (r.is(RecordType.MANIFEST) && replayed.get() == 0 && finish[0] != null) {
                notes.accept("replay: no page changed during the migration, so dom0 replays the handshake's FINISH"
                        + " record before the MANIFEST");
                out.forward(finish[0]);
            }
            out.forward(r);
        };
    }

    private static StreamInterposer.Tamper reorder(Consumer<String> notes) {
        Record[] held = new Record[1];
        return (r, out) -> {
            if (r.is(RecordType.MANIFEST)) {
                held[0] = r;
                notes.accept("reorder: dom0 holds the MANIFEST back");
                return;
            }
            if (r.is(RecordType.ABORT) && r.direction == Direction.SOURCE_TO_DESTINATION && held[0] != null) {
                notes.accept("reorder: dom0 delivers the source's ABORT, then the MANIFEST");
                out.forward(r);
                out.forward(held[0]);
                held[0] = null;
                return;
            }
            out.forward(r);
        };
    }

    /**
     * Replaces the AK chain of HELLO with one dom0 made for a key of its own: an attestation-key certificate from a
     * CA dom0 created (it cannot get the cluster CA to certify a key without the hypervisor's endorsement).
     */
    private static StreamInterposer.Tamper unendorsedKey(Consumer<String> notes) {
        return (r, out) -> {
            if (r.direction == Direction.SOURCE_TO_DESTINATION && r.is(RecordType.HELLO)
                    && r.body.length > HELLO_CHAIN_OFFSET) {
                try {
                    List<byte[]> chain = dom0MadeAkChain();
                    byte[] head = Arrays.copyOf(r.body, HELLO_CHAIN_OFFSET);
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    b.write(head);
                    b.write(ByteBuffer.allocate(8).putInt(chain.size()).putInt(0).array());
                    for (byte[] der : chain) {
                        b.write(ByteBuffer.allocate(8).putInt(der.length).putInt(0).array());
                        b.write(der);
                        b.write(new byte[(8 - der.length % 8) % 8]);
                    }
                    r.body = b.toByteArray();
                    notes.accept("unendorsed-key: dom0 replaced the AK chain in HELLO with a key it generated,"
                            + " certified by its own CA (no endorsement)");
                } catch (Exception e) {
                    notes.accept("unendorsed-key: dom0 could not build its own chain: " + e);
                }
            }
            out.forward(r);
        };
    }

    private static List<byte[]> dom0MadeAkChain() throws Exception {
        Instant now = Instant.now();
        ClusterCa fake = ClusterCa.create("dom0-own-ca", now.minusSeconds(60), Duration.ofDays(3));
        VendorRoot vendor = VendorRoot.create("dom0-own-vendor", now.minusSeconds(60), Duration.ofDays(3));
        fake.trustVendorRoot(vendor.certificate());
        EndorsementKey ek = vendor.manufacture("dom0", now.minusSeconds(60), Duration.ofDays(1));
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        AkCsr csr = AkCsr.create(AttestationSigner.of(kp), "dom0", new byte[32]);
        X509Certificate ak = fake.issueAkCertificate(ek.endorse(csr), now.minusSeconds(30), Duration.ofDays(1));
        return List.of(ak.getEncoded(), fake.certificate().getEncoded());
    }
}
