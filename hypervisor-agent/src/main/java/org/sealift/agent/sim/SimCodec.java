package org.sealift.agent.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.PfnRange;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;

/** Encodings of the SPI's public types on the sim socket (both directions use the same code). */
public final class SimCodec {

    private SimCodec() {
    }

    public static void workload(SimFrame f, WorkloadSpec w) {
        f.i32(w.fillPercent()).i64(w.normalWorkingSetPages()).i64(w.normalDirtyPagesPerSecond())
                .i64(w.protectedWorkingSetPages()).i64(w.protectedDirtyPagesPerSecond()).i64(w.seed())
                .bool(w.secretMarkerSeed().isPresent()).i64(w.secretMarkerSeed().orElse(0));
    }

    public static WorkloadSpec workload(SimFrame f) throws IOException {
        int fill = f.i32();
        long nw = f.i64();
        long nr = f.i64();
        long pw = f.i64();
        long pr = f.i64();
        long seed = f.i64();
        boolean marker = f.bool();
        long markerSeed = f.i64();
        return new WorkloadSpec(fill, nw, nr, pw, pr, seed, marker ? OptionalLong.of(markerSeed) : OptionalLong.empty());
    }

    public static void config(SimFrame f, DomainConfig c) {
        f.str(c.name()).i32(c.memoryMiB()).i32(c.vcpus()).i32(c.protectedProcesses().size());
        for (ProtectedProcessSpec p : c.protectedProcesses()) {
            f.str(p.name()).i32(p.ranges().size());
            for (PfnRange r : p.ranges()) {
                f.i64(r.first()).i64(r.count());
            }
        }
        workload(f, c.workload());
    }

    public static DomainConfig config(SimFrame f) throws IOException {
        String name = f.str();
        int mem = f.i32();
        int vcpus = f.i32();
        int n = f.i32();
        if (n < 0 || n > 1024) {
            throw new IOException("protected process count " + n + " is out of range");
        }
        List<ProtectedProcessSpec> procs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String pn = f.str();
            int rn = f.i32();
            if (rn < 0 || rn > 4096) {
                throw new IOException("range count " + rn + " is out of range");
            }
            List<PfnRange> ranges = new ArrayList<>();
            for (int k = 0; k < rn; k++) {
                ranges.add(new PfnRange(f.i64(), f.i64()));
            }
            procs.add(new ProtectedProcessSpec(pn, ranges));
        }
        return new DomainConfig(name, mem, vcpus, procs, workload(f));
    }

    public static void migrationId(SimFrame f, MigrationId id) {
        f.bytes(id.bytes());
    }

    public static MigrationId migrationId(SimFrame f) throws IOException {
        return MigrationId.of(f.bytes());
    }

    public static void optMigrationId(SimFrame f, Optional<MigrationId> id) {
        f.bool(id.isPresent());
        id.ifPresent(m -> migrationId(f, m));
    }

    public static Optional<MigrationId> optMigrationId(SimFrame f) throws IOException {
        return f.bool() ? Optional.of(migrationId(f)) : Optional.empty();
    }

    public static void info(SimFrame f, DomainInfo d) {
        f.i32(d.domId());
        config(f, d.config());
        f.u8(d.state().ordinal()).bool(d.dirtyLogging());
        optMigrationId(f, d.migration());
    }

    public static DomainInfo info(SimFrame f) throws IOException {
        int id = f.i32();
        DomainConfig c = config(f);
        DomainState s = enumOf(DomainState.values(), f.u8());
        boolean dirty = f.bool();
        return new DomainInfo(id, c, s, dirty, optMigrationId(f));
    }

    public static void decision(SimFrame f, MigrationDecision d) {
        migrationId(f, d.id());
        f.u8(d.role().ordinal()).str(d.vmName()).i32(d.domId()).optStr(d.peerHostId()).u8(d.state().ordinal())
                .bool(d.inDoubt()).str(d.detail()).optStr(d.manifestDigest()).optStr(d.peerAkFingerprint());
    }

    public static MigrationDecision decision(SimFrame f) throws IOException {
        MigrationId id = migrationId(f);
        MigrationRole role = enumOf(MigrationRole.values(), f.u8());
        String vm = f.str();
        int domId = f.i32();
        Optional<String> peer = f.optStr();
        MigrationState state = enumOf(MigrationState.values(), f.u8());
        boolean doubt = f.bool();
        String detail = f.str();
        return new MigrationDecision(id, role, vm, domId, peer, state, doubt, detail, f.optStr(), f.optStr());
    }

    public static void identity(SimFrame f, HostIdentity h) {
        f.str(h.hostId()).bytes(h.measurement()).str(h.protectionModuleVersion()).bytesList(h.endorsementChain())
                .bytesList(h.attestationChain()).i64(h.policySerial());
    }

    public static HostIdentity identity(SimFrame f) throws IOException {
        return new HostIdentity(f.str(), f.bytes(), f.str(), f.bytesList(), f.bytesList(), f.i64());
    }

    public static void message(SimFrame f, ProtocolMessage m) {
        f.u8(m.kind().ordinal()).bytes(m.bytes());
    }

    public static ProtocolMessage message(SimFrame f) throws IOException {
        ProtocolMessage.Kind k = enumOf(ProtocolMessage.Kind.values(), f.u8());
        return new ProtocolMessage(k, f.bytes());
    }

    public static void bitmap(SimFrame f, PageBitmap b) {
        f.i64(b.pageCount()).longs(b.words());
    }

    public static PageBitmap bitmap(SimFrame f) throws IOException {
        long pages = f.i64();
        return new PageBitmap(pages, f.longs());
    }

    public static void batch(SimFrame f, SealedBatch b) {
        int n = b.count();
        long[] ids = new long[n];
        long[] versions = new long[n];
        long[] lengths = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = b.id(i);
            versions[i] = b.version(i);
            lengths[i] = b.record(i).remaining();
        }
        f.u8(b.kind().ordinal()).longs(ids).longs(versions).longs(lengths).bytes(b.records());
    }

    /** Records are laid out back to back in the order given, so offsets follow from the lengths. */
    public static SealedBatch batch(SimFrame f) throws IOException {
        SealedBatch.Kind kind = enumOf(SealedBatch.Kind.values(), f.u8());
        long[] ids = f.longs();
        long[] versions = f.longs();
        long[] lengths = f.longs();
        ByteBuffer records = f.view();
        int[] offsets = new int[ids.length];
        int[] lens = new int[ids.length];
        int off = 0;
        for (int i = 0; i < ids.length; i++) {
            offsets[i] = off;
            lens[i] = (int) lengths[i];
            off += lens[i];
        }
        return new SealedBatch(kind, ids, versions, offsets, lens, records);
    }

    public static void logHead(SimFrame f, LogHead h) {
        f.i64(h.index()).bytes(h.hash()).i64(h.counter()).bytes(h.nonce()).bytes(h.signed()).bytes(h.signature());
    }

    public static LogHead logHead(SimFrame f) throws IOException {
        return new LogHead(f.i64(), f.bytes(), f.i64(), f.bytes(), f.bytes(), f.bytes());
    }

    public static void attestation(SimFrame f, SignedAttestation a) {
        f.u8(a.role().ordinal()).bytes(a.fields()).bytes(a.signature());
    }

    public static SignedAttestation attestation(SimFrame f) throws IOException {
        return new SignedAttestation(enumOf(MigrationRole.values(), f.u8()), f.bytes(), f.bytes());
    }

    /** Error response body. */
    public static void error(SimFrame f, HypervisorException e) {
        f.u8(1).u8(e.reason().ordinal());
        Optional<ProtocolException.Reason> pr = e.protocolReason();
        f.i32(pr.map(Enum::ordinal).orElse(-1));
        f.str(String.valueOf(e.getMessage()));
    }

    public static HypervisorException error(SimFrame f) throws IOException {
        HypervisorException.Reason r = enumOf(HypervisorException.Reason.values(), f.u8());
        int pr = f.i32();
        String msg = f.str();
        ProtocolException.Reason protocolReason = pr < 0 ? null : enumOf(ProtocolException.Reason.values(), pr);
        return new HypervisorException(r, protocolReason, msg, null);
    }

    public static <E extends Enum<E>> E enumOf(E[] values, int ordinal) throws IOException {
        if (ordinal < 0 || ordinal >= values.length) {
            throw new IOException("enum value " + ordinal + " is out of range for " + values[0].getDeclaringClass()
                    .getSimpleName());
        }
        return values[ordinal];
    }
}
