package org.sealift.protocol.attest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.CanonicalWriter;
import org.sealift.protocol.pki.Hex;

/**
 * The attestation record of one migration (design G6), as computed by the hypervisors: ids, both parties, policy
 * serial, suite, timestamps, outcome and reason, statistics, anomalies, transcript hash, manifest digest. Immutable.
 * {@link #toCanonicalBytes()} is the one deterministic encoding that the source and destination AKs sign
 * ({@link SignedRecord}); the layout is in docs/protocol-attestation.md. {@link #toJson()} is the view for people.
 */
public final class AttestationRecord {

    static final byte[] MAGIC = CanonicalWriter.ascii("SMP1/RECORD");
    public static final int FORMAT = 1;
    static final int MAX_HOST_ID = 64;
    static final int MAX_SUITE = 64;
    static final int MAX_REASON = 40;
    static final int MAX_DETAIL = 1024;

    /**
     * The suite of a plain-mode migration's record: no handshake and no MANIFEST took place, so its transcript hash
     * and manifest digest are all zero, also when it COMMITTED. Only dom0-held signers sign such records (a
     * hypervisor takes no part in a plain migration); the verifier says so.
     */
    public static final String PLAIN_SUITE = "plain";

    private static final Pattern REASON = Pattern.compile("[A-Z][A-Z0-9_]{0,39}");
    private static final byte[] ZERO32 = new byte[32];

    /** Which hypervisor signs: the wire value is in the signed message and must stay stable. */
    public enum Side {
        SOURCE(1), DESTINATION(2);

        private final int wire;

        Side(int wire) {
            this.wire = wire;
        }

        public int wire() {
            return wire;
        }

        String label() {
            return this == SOURCE ? "source" : "destination";
        }
    }

    private final byte[] migrationId;
    private final UUID vmId;
    private final Party source;
    private final Party destination;
    private final long policySerial;
    private final String suite;
    private final Instant started;
    private final Instant paused; // null = never paused
    private final Instant resumed; // null = never resumed
    private final Outcome outcome;
    private final String reason; // "" for COMMITTED
    private final String detail;
    private final Statistics statistics;
    private final Map<AnomalyKind, Anomaly> anomalies;
    private final byte[] transcriptHash; // zero = no completed handshake
    private final byte[] manifestDigest; // zero = no MANIFEST sealed

    private AttestationRecord(Builder b) {
        this.migrationId = b.migrationId.clone();
        this.vmId = b.vmId;
        this.source = b.source;
        this.destination = b.destination;
        this.policySerial = b.policySerial;
        this.suite = b.suite;
        this.started = b.started;
        this.paused = b.paused;
        this.resumed = b.resumed;
        this.outcome = b.outcome;
        this.reason = b.reason;
        this.detail = b.detail;
        this.statistics = b.statistics;
        this.anomalies = Collections.unmodifiableMap(new EnumMap<>(b.anomalies));
        this.transcriptHash = b.transcriptHash.clone();
        this.manifestDigest = b.manifestDigest.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    public byte[] migrationId() {
        return migrationId.clone();
    }

    /** "m=3fa9c2d1…" as used in verification messages. */
    public String migrationLabel() {
        return "m=" + Hex.abbrev(migrationId);
    }

    public UUID vmId() {
        return vmId;
    }

    public Party source() {
        return source;
    }

    public Party destination() {
        return destination;
    }

    public Party party(Side side) {
        return side == Side.SOURCE ? source : destination;
    }

    public long policySerial() {
        return policySerial;
    }

    public String suite() {
        return suite;
    }

    public Instant started() {
        return started;
    }

    public Optional<Instant> paused() {
        return Optional.ofNullable(paused);
    }

    public Optional<Instant> resumed() {
        return Optional.ofNullable(resumed);
    }

    public Outcome outcome() {
        return outcome;
    }

    /** The reason name ("" for COMMITTED); usually a {@link Reason} name, see {@link #reason()}. */
    public String reasonName() {
        return reason;
    }

    /** The reason as a {@link Reason}, if it is one this build knows. */
    public Optional<Reason> reason() {
        for (Reason r : Reason.values()) {
            if (r.name().equals(reason)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    public String detail() {
        return detail;
    }

    public Statistics statistics() {
        return statistics;
    }

    public Map<AnomalyKind, Anomaly> anomalies() {
        return anomalies;
    }

    public Optional<byte[]> transcriptHash() {
        return Arrays.equals(transcriptHash, ZERO32) ? Optional.empty() : Optional.of(transcriptHash.clone());
    }

    public Optional<byte[]> manifestDigest() {
        return Arrays.equals(manifestDigest, ZERO32) ? Optional.empty() : Optional.of(manifestDigest.clone());
    }

    public byte[] toCanonicalBytes() {
        CanonicalWriter w = new CanonicalWriter().raw(MAGIC).u16(FORMAT).fixed(migrationId, 16)
                .u64(vmId.getMostSignificantBits()).u64(vmId.getLeastSignificantBits());
        writeParty(w, source);
        writeParty(w, destination);
        w.u64(policySerial).str(suite).u64(started.toEpochMilli()).u64(paused == null ? 0 : paused.toEpochMilli())
                .u64(resumed == null ? 0 : resumed.toEpochMilli()).u8(outcome.wire()).str(reason).str(detail);
        Statistics s = statistics;
        w.u32(s.rounds()).u64(s.pagesNormal()).u64(s.pagesProtected()).u64(s.pagesZero()).u64(s.bytes())
                .u64(s.downtimeMillis()).u64(s.totalMillis());
        w.u8(anomalies.size());
        for (Anomaly a : anomalies.values()) { // EnumMap iterates in wire order
            w.u8(a.kind().wire()).u64(a.count()).str(a.firstExample());
        }
        w.fixed(transcriptHash, 32).fixed(manifestDigest, 32);
        return w.toByteArray();
    }

    private static void writeParty(CanonicalWriter w, Party p) {
        w.str(p.hostId()).fixed(p.akFingerprint(), 32).fixed(p.measurement(), 32);
    }

    /** SHA-256 of the canonical bytes: names the record independently of its signatures. */
    public byte[] hash() {
        return sha256(toCanonicalBytes());
    }

    /** The exact bytes an AK signs: {@code "SMP1/RECORD" ‖ u8 side ‖ SHA-256(canonical bytes)}. */
    public byte[] signedMessage(Side side) {
        return new CanonicalWriter().raw(MAGIC).u8(side.wire()).fixed(hash(), 32).toByteArray();
    }

    /** Parses canonical bytes from an untrusted source: every field is range-checked; MALFORMED otherwise. */
    public static AttestationRecord fromCanonicalBytes(byte[] bytes) throws ProtocolException {
        CanonicalReader r = new CanonicalReader(bytes, "attestation record");
        r.expect(MAGIC, "magic");
        int format = r.u16("format");
        if (format != FORMAT) {
            throw r.malformed("format " + format + " is not supported (this build reads format " + FORMAT + ")");
        }
        Builder b = builder();
        try {
            b.migrationId(r.fixed(16, "migration id"));
            b.vmId(new UUID(r.u64("VM id"), r.u64("VM id")));
            b.source(readParty(r, "source"));
            b.destination(readParty(r, "destination"));
            b.policySerial(r.u64("policy serial"));
            b.suite(r.str(MAX_SUITE, "suite"));
            long start = r.u64("start time");
            long pause = r.u64("pause time");
            long resume = r.u64("resume time");
            if (start <= 0 || pause < 0 || resume < 0) {
                throw r.malformed("timestamps must be positive milliseconds since the epoch (0 only for none)");
            }
            b.started(Instant.ofEpochMilli(start));
            b.paused(pause == 0 ? null : Instant.ofEpochMilli(pause));
            b.resumed(resume == 0 ? null : Instant.ofEpochMilli(resume));
            int ow = r.u8("outcome");
            Outcome outcome = Outcome.fromWire(ow);
            if (outcome == null) {
                throw r.malformed("outcome " + ow + " is not defined");
            }
            b.outcome(outcome, r.str(MAX_REASON, "reason"), r.str(MAX_DETAIL, "detail"));
            b.statistics(new Statistics(r.u32("rounds"), r.u64("normal pages"), r.u64("protected pages"),
                    r.u64("zero pages"), r.u64("bytes"), r.u64("downtime"), r.u64("total time")));
            int n = r.u8("anomaly count");
            if (n > AnomalyKind.values().length) {
                throw r.malformed("anomaly count " + n + " exceeds the " + AnomalyKind.values().length + " kinds");
            }
            int prev = 0;
            for (int i = 0; i < n; i++) {
                int kw = r.u8("anomaly kind");
                AnomalyKind kind = AnomalyKind.fromWire(kw);
                if (kind == null) {
                    throw r.malformed("anomaly kind " + kw + " is not defined");
                }
                if (kw <= prev) {
                    throw r.malformed("anomaly kinds are not strictly ascending at " + kind);
                }
                prev = kw;
                long count = r.u64("anomaly count");
                if (count == 0) {
                    throw r.malformed("anomaly " + kind + " has count 0");
                }
                b.anomaly(kind, count, r.str(Anomaly.MAX_EXAMPLE, "anomaly example"));
            }
            b.transcriptHash(r.fixed(32, "transcript hash"));
            b.manifestDigest(r.fixed(32, "manifest digest"));
            r.expectEnd();
            return b.build();
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            throw r.malformed(e.getMessage());
        }
    }

    private static Party readParty(CanonicalReader r, String which) throws ProtocolException {
        String host = r.str(MAX_HOST_ID, which + " host id");
        return new Party(host, r.fixed(32, which + " AK fingerprint"), r.fixed(32, which + " measurement"));
    }

    /**
     * The record's fields as flat "name → value" strings in encoding order: what the JSON view shows and what the
     * cross-check compares to name a differing field.
     */
    public Map<String, String> fields() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("migrationId", Hex.encode(migrationId));
        f.put("vmId", vmId.toString());
        for (Side side : Side.values()) {
            Party p = party(side);
            f.put(side.label() + ".hostId", p.hostId());
            f.put(side.label() + ".akFingerprint", Hex.encode(p.akFingerprint()));
            f.put(side.label() + ".measurement", Hex.encode(p.measurement()));
        }
        f.put("policySerial", Long.toUnsignedString(policySerial));
        f.put("suite", suite);
        f.put("started", started.toString());
        f.put("paused", paused == null ? "" : paused.toString());
        f.put("resumed", resumed == null ? "" : resumed.toString());
        f.put("outcome", outcome.name());
        f.put("reason", reason);
        f.put("detail", detail);
        f.put("statistics.rounds", Long.toString(statistics.rounds()));
        f.put("statistics.pagesNormal", Long.toUnsignedString(statistics.pagesNormal()));
        f.put("statistics.pagesProtected", Long.toUnsignedString(statistics.pagesProtected()));
        f.put("statistics.pagesZero", Long.toUnsignedString(statistics.pagesZero()));
        f.put("statistics.bytes", Long.toUnsignedString(statistics.bytes()));
        f.put("statistics.downtimeMillis", Long.toUnsignedString(statistics.downtimeMillis()));
        f.put("statistics.totalMillis", Long.toUnsignedString(statistics.totalMillis()));
        for (AnomalyKind k : AnomalyKind.values()) {
            Anomaly a = anomalies.get(k);
            f.put("anomalies." + k.name(), a == null ? "" : Long.toUnsignedString(a.count()) + " (first: "
                    + a.firstExample() + ")");
        }
        f.put("transcriptHash", Hex.encode(transcriptHash));
        f.put("manifestDigest", Hex.encode(manifestDigest));
        return f;
    }

    /** The JSON view for people (console, CLI); not signed, not parsed back. */
    public String toJson() {
        Json j = new Json();
        writeJson(j);
        return j.toString();
    }

    void writeJson(Json j) {
        j.beginObject().field("format", FORMAT).field("migrationId", Hex.encode(migrationId))
                .field("vmId", vmId.toString());
        for (Side side : Side.values()) {
            Party p = party(side);
            j.name(side.label()).beginObject().field("hostId", p.hostId())
                    .field("akFingerprint", p.isIdentified() ? Hex.encode(p.akFingerprint()) : null)
                    .field("measurement", p.isIdentified() ? Hex.encode(p.measurement()) : null).endObject();
        }
        j.field("policySerial", policySerial).field("suite", suite);
        j.name("timestamps").beginObject().field("start", started.toString())
                .field("pause", paused == null ? null : paused.toString())
                .field("resume", resumed == null ? null : resumed.toString()).endObject();
        j.field("outcome", outcome.name()).field("reason", reason.isEmpty() ? null : reason).field("detail", detail);
        Statistics s = statistics;
        j.name("statistics").beginObject().field("rounds", s.rounds()).field("pagesNormal", s.pagesNormal())
                .field("pagesProtected", s.pagesProtected()).field("pagesZero", s.pagesZero())
                .field("bytes", s.bytes()).field("downtimeMillis", s.downtimeMillis())
                .field("totalMillis", s.totalMillis()).endObject();
        j.name("anomalies").beginArray();
        for (Anomaly a : anomalies.values()) {
            j.beginObject().field("kind", a.kind().name()).field("count", a.count())
                    .field("firstExample", a.firstExample()).endObject();
        }
        j.endArray();
        j.field("transcriptHash", transcriptHash().map(Hex::encode).orElse(null))
                .field("manifestDigest", manifestDigest().map(Hex::encode).orElse(null));
        j.endObject();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttestationRecord r && Arrays.equals(toCanonicalBytes(), r.toCanonicalBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash());
    }

    @Override
    public String toString() {
        return "record " + migrationLabel() + " " + outcome + " " + source.hostId() + " -> " + destination.hostId();
    }

    static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(p);
            }
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Collects and checks the fields; {@link #build()} refuses an incomplete or inconsistent record. */
    public static final class Builder {
        private byte[] migrationId;
        private UUID vmId;
        private Party source;
        private Party destination;
        private long policySerial;
        private String suite;
        private Instant started;
        private Instant paused;
        private Instant resumed;
        private Outcome outcome;
        private String reason = "";
        private String detail = "";
        private Statistics statistics = Statistics.NONE;
        private final Map<AnomalyKind, Anomaly> anomalies = new EnumMap<>(AnomalyKind.class);
        private byte[] transcriptHash = ZERO32;
        private byte[] manifestDigest = ZERO32;

        private Builder() {
        }

        public Builder migrationId(byte[] id) {
            if (id.length != 16) {
                throw new IllegalArgumentException("migration id must be 16 bytes, got " + id.length);
            }
            this.migrationId = id.clone();
            return this;
        }

        public Builder vmId(UUID vmId) {
            this.vmId = Objects.requireNonNull(vmId, "vmId");
            return this;
        }

        public Builder source(Party p) {
            this.source = Objects.requireNonNull(p, "source");
            return this;
        }

        public Builder destination(Party p) {
            this.destination = Objects.requireNonNull(p, "destination");
            return this;
        }

        public Builder policySerial(long serial) {
            this.policySerial = serial;
            return this;
        }

        public Builder suite(String suite) {
            if (suite == null || suite.isEmpty() || suite.getBytes(StandardCharsets.UTF_8).length > MAX_SUITE) {
                throw new IllegalArgumentException("suite must be 1-64 bytes");
            }
            this.suite = suite;
            return this;
        }

        public Builder started(Instant t) {
            this.started = millis(t);
            return this;
        }

        public Builder paused(Instant t) {
            this.paused = t == null ? null : millis(t);
            return this;
        }

        public Builder resumed(Instant t) {
            this.resumed = t == null ? null : millis(t);
            return this;
        }

        private static Instant millis(Instant t) {
            if (t.toEpochMilli() <= 0) {
                throw new IllegalArgumentException("timestamp " + t + " is not after the epoch");
            }
            return Instant.ofEpochMilli(t.toEpochMilli());
        }

        /** @param reason a {@link Reason} name, or another upper-case token; null/"" only for COMMITTED */
        public Builder outcome(Outcome outcome, String reason, String detail) {
            this.outcome = Objects.requireNonNull(outcome, "outcome");
            this.reason = reason == null ? "" : reason;
            this.detail = detail == null ? "" : detail;
            return this;
        }

        public Builder outcome(Outcome outcome, Reason reason, String detail) {
            return outcome(outcome, reason == null ? "" : reason.name(), detail);
        }

        public Builder statistics(Statistics s) {
            this.statistics = Objects.requireNonNull(s, "statistics");
            return this;
        }

        public Builder anomaly(AnomalyKind kind, long count, String firstExample) {
            anomalies.put(kind, new Anomaly(kind, count, firstExample));
            return this;
        }

        public Builder anomalies(List<Anomaly> list) {
            for (Anomaly a : list) {
                anomalies.put(a.kind(), a);
            }
            return this;
        }

        public Builder transcriptHash(byte[] h) {
            this.transcriptHash = h == null ? ZERO32 : require32(h, "transcript hash");
            return this;
        }

        public Builder manifestDigest(byte[] d) {
            this.manifestDigest = d == null ? ZERO32 : require32(d, "manifest digest");
            return this;
        }

        private static byte[] require32(byte[] b, String what) {
            if (b.length != 32) {
                throw new IllegalArgumentException(what + " must be 32 bytes, got " + b.length);
            }
            return b.clone();
        }

        public AttestationRecord build() {
            if (migrationId == null || vmId == null || source == null || destination == null || suite == null
                    || started == null || outcome == null) {
                throw new IllegalArgumentException("attestation record needs migration id, VM id, source,"
                        + " destination, suite, start time and outcome");
            }
            if (outcome == Outcome.COMMITTED && !reason.isEmpty()) {
                throw new IllegalArgumentException("a COMMITTED record has no failure reason (got " + reason + ")");
            }
            if (outcome != Outcome.COMMITTED && !REASON.matcher(reason).matches()) {
                throw new IllegalArgumentException("a " + outcome + " record needs a reason: an upper-case token such"
                        + " as a ProtocolException.Reason name, got \"" + reason + "\"");
            }
            if (detail.getBytes(StandardCharsets.UTF_8).length > MAX_DETAIL) {
                throw new IllegalArgumentException("detail is longer than " + MAX_DETAIL + " bytes");
            }
            if (outcome != Outcome.REJECTED && (!source.isIdentified() || !destination.isIdentified())) {
                throw new IllegalArgumentException("a " + outcome + " record needs both parties identified by AK;"
                        + " only REJECTED may name an unidentified host");
            }
            if (PLAIN_SUITE.equals(suite)) {
                if (!Arrays.equals(manifestDigest, ZERO32) || !Arrays.equals(transcriptHash, ZERO32)) {
                    throw new IllegalArgumentException("a plain migration's record has no transcript hash and no"
                            + " manifest digest (no handshake, no MANIFEST)");
                }
            } else if (outcome == Outcome.COMMITTED && (Arrays.equals(manifestDigest, ZERO32)
                    || Arrays.equals(transcriptHash, ZERO32))) {
                throw new IllegalArgumentException("a COMMITTED record needs the transcript hash and manifest digest");
            }
            return new AttestationRecord(this);
        }
    }
}
