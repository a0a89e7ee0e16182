package org.sealift.protocol.pki;

import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * The cluster policy (immutable). It says which hypervisor builds are trusted (measurements), the minimum protocol
 * version, the allowed suites, which hosts may receive which VMs, and which attestation keys are revoked (fenced).
 * A policy means nothing until signed by the CA's policy key ({@link SignedPolicy}) and accepted by a
 * {@link PolicyStore}, which enforces the minimum-serial rule. Canonical layout: docs/protocol-attestation.md.
 */
public final class Policy {

    static final byte[] MAGIC = CanonicalWriter.ascii("SMP1/POLICY");
    static final int FORMAT = 1;
    /** Format 1 plus the dom0 signer host patterns; used only when there are some, so older policies keep their bytes. */
    static final int FORMAT_WITH_DOM0_SIGNERS = 2;
    static final int MAX_DOM0_SIGNERS = 4096;

    static final int MAX_NAME = 128;
    static final int MAX_SUITE = 64;
    static final int MAX_SUITES = 64;
    static final int MAX_LABEL = 128;
    static final int MAX_MEASUREMENTS = 4096;
    static final int MAX_PATTERN = 128;
    static final int MAX_RULES = 4096;
    static final int MAX_REVOKED = 65536;

    private static final Pattern SUITE = Pattern.compile("[A-Za-z0-9_.+/-]{1,64}");
    private static final Pattern GLOB = Pattern.compile("[A-Za-z0-9._*?-]{1,128}");

    private final String name;
    private final long serial;
    private final Instant notBefore;
    private final Instant notAfter;
    private final int minProtocolVersion;
    private final SortedMap<String, String> suites; // used as a sorted set; value unused
    private final SortedMap<String, String> measurements; // hex → label ("" if unnamed)
    private final List<ReceiveRule> receiveRules; // sorted, unique
    private final Set<String> revokedAks; // hex fingerprints, sorted
    private final Set<String> dom0Signers; // host patterns, sorted

    /**
     * Which hosts may receive which VMs: a host whose id matches {@code hostPattern} may receive a VM whose id
     * matches {@code vmPattern}. Patterns are globs: {@code *} any run of characters, {@code ?} one character.
     */
    public record ReceiveRule(String hostPattern, String vmPattern) implements Comparable<ReceiveRule> {
        public ReceiveRule {
            requireGlob(hostPattern, "host pattern");
            requireGlob(vmPattern, "VM pattern");
        }

        public boolean matches(String hostId, String vmId) {
            return glob(hostPattern, hostId) && glob(vmPattern, vmId);
        }

        @Override
        public int compareTo(ReceiveRule o) {
            int c = hostPattern.compareTo(o.hostPattern);
            return c != 0 ? c : vmPattern.compareTo(o.vmPattern);
        }

        @Override
        public String toString() {
            return hostPattern + " <- " + vmPattern;
        }
    }

    private Policy(Builder b) {
        this.name = b.name;
        this.serial = b.serial;
        this.notBefore = b.notBefore;
        this.notAfter = b.notAfter;
        this.minProtocolVersion = b.minProtocolVersion;
        this.suites = Collections.unmodifiableSortedMap(new TreeMap<>(b.suites));
        this.measurements = Collections.unmodifiableSortedMap(new TreeMap<>(b.measurements));
        this.receiveRules = List.copyOf(new TreeSet<>(b.receiveRules));
        this.revokedAks = Collections.unmodifiableSet(new TreeSet<>(b.revokedAks));
        this.dom0Signers = Collections.unmodifiableSet(new TreeSet<>(b.dom0Signers));
    }

    public static Builder builder(String name, long serial) {
        return new Builder(name, serial);
    }

    /** A builder holding this policy's fields, for the next serial. */
    public Builder toBuilder() {
        Builder b = new Builder(name, serial);
        b.notBefore = notBefore;
        b.notAfter = notAfter;
        b.minProtocolVersion = minProtocolVersion;
        b.suites.putAll(suites);
        b.measurements.putAll(measurements);
        b.receiveRules.addAll(receiveRules);
        b.revokedAks.addAll(revokedAks);
        b.dom0Signers.addAll(dom0Signers);
        return b;
    }

    public String name() {
        return name;
    }

    /** Unsigned 64-bit serial; compare with {@link Long#compareUnsigned}. */
    public long serial() {
        return serial;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    public int minProtocolVersion() {
        return minProtocolVersion;
    }

    public Set<String> suites() {
        return suites.keySet();
    }

    /** Allowed measurements as hex → label ("" when unnamed), sorted. */
    public Map<String, String> measurements() {
        return measurements;
    }

    public List<ReceiveRule> receiveRules() {
        return receiveRules;
    }

    /** Revoked AK fingerprints (hex), sorted. */
    public Set<String> revokedAks() {
        return revokedAks;
    }

    /** "policy 'prod-2026' serial 5" for messages. */
    public String describe() {
        return "policy '" + name + "' serial " + Long.toUnsignedString(serial);
    }

    public boolean allowsMeasurement(byte[] measurement) {
        return measurements.containsKey(Hex.encode(measurement));
    }

    public Optional<String> measurementName(byte[] measurement) {
        String label = measurements.get(Hex.encode(measurement));
        return label == null || label.isEmpty() ? Optional.empty() : Optional.of(label);
    }

    /**
     * Host patterns (globs) whose dom0-held record-signing keys this policy accepts for attestation records of plain
     * migrations (docs/protocol-attestation.md §2.2); empty = none. Never admits such a key as an AK.
     */
    public Set<String> dom0Signers() {
        return dom0Signers;
    }

    public boolean allowsDom0Signer(String hostId) {
        for (String p : dom0Signers) {
            if (glob(p, hostId)) {
                return true;
            }
        }
        return false;
    }

    public boolean isRevoked(byte[] akFingerprint) {
        return revokedAks.contains(Hex.encode(akFingerprint));
    }

    public boolean mayReceive(String hostId, String vmId) {
        for (ReceiveRule r : receiveRules) {
            if (r.matches(hostId, vmId)) {
                return true;
            }
        }
        return false;
    }

    public boolean isValidAt(Instant now) {
        return !now.isBefore(notBefore) && now.isBefore(notAfter);
    }

    /** POLICY if the policy is expired or not yet valid at {@code now}. */
    public void checkValidAt(Instant now) throws ProtocolException {
        if (!now.isBefore(notAfter)) {
            throw new ProtocolException(Reason.POLICY, describe() + " expired at " + notAfter
                    + "; install a newer policy from the cluster CA");
        }
        if (now.isBefore(notBefore)) {
            throw new ProtocolException(Reason.POLICY, describe() + " is not valid before " + notBefore
                    + " (clock skew, or a policy issued for the future)");
        }
    }

    /** POLICY unless {@code hostId} may receive {@code vmId}. */
    public void checkReceive(String hostId, String vmId) throws ProtocolException {
        if (!mayReceive(hostId, vmId)) {
            throw new ProtocolException(Reason.POLICY, describe() + " does not allow host " + hostId
                    + " to receive VM " + vmId + ": no receive rule matches; add one (host pattern, VM pattern)"
                    + " in a new policy");
        }
    }

    /** DOWNGRADE if the version is below the minimum or the suite is not allowed. */
    public void checkVersionAndSuite(int protocolVersion, String suite) throws ProtocolException {
        if (protocolVersion < minProtocolVersion) {
            throw new ProtocolException(Reason.DOWNGRADE, "protocol version " + protocolVersion
                    + " is below the minimum " + minProtocolVersion + " of " + describe());
        }
        if (!suites.containsKey(suite)) {
            throw new ProtocolException(Reason.DOWNGRADE, "suite " + suite + " is not allowed by " + describe()
                    + " (allowed: " + String.join(", ", suites.keySet()) + ")");
        }
    }

    public byte[] toCanonicalBytes() {
        CanonicalWriter w = new CanonicalWriter().raw(MAGIC).u16(dom0Signers.isEmpty() ? FORMAT
                : FORMAT_WITH_DOM0_SIGNERS).str(name).u64(serial)
                .u64(notBefore.getEpochSecond()).u64(notAfter.getEpochSecond()).u16(minProtocolVersion);
        w.u16(suites.size());
        for (String s : suites.keySet()) {
            w.str(s);
        }
        w.u32(measurements.size());
        for (Map.Entry<String, String> e : measurements.entrySet()) {
            w.fixed(Hex.decode(e.getKey()), Certificates.MEASUREMENT_BYTES).str(e.getValue());
        }
        w.u32(receiveRules.size());
        for (ReceiveRule r : receiveRules) {
            w.str(r.hostPattern()).str(r.vmPattern());
        }
        w.u32(revokedAks.size());
        for (String fp : revokedAks) {
            w.fixed(Hex.decode(fp), Certificates.FINGERPRINT_BYTES);
        }
        if (!dom0Signers.isEmpty()) {
            w.u32(dom0Signers.size());
            for (String p : dom0Signers) {
                w.str(p);
            }
        }
        return w.toByteArray();
    }

    /**
     * Parses canonical bytes. Sets must be strictly ascending (no duplicates), so a policy has exactly one encoding
     * and anything else is refused as MALFORMED.
     */
    public static Policy fromCanonicalBytes(byte[] bytes) throws ProtocolException {
        CanonicalReader r = new CanonicalReader(bytes, "policy");
        r.expect(MAGIC, "magic");
        int format = r.u16("format");
        if (format != FORMAT && format != FORMAT_WITH_DOM0_SIGNERS) {
            throw r.malformed("format " + format + " is not supported (this build reads formats " + FORMAT + " and "
                    + FORMAT_WITH_DOM0_SIGNERS + ")");
        }
        String name = r.str(MAX_NAME, "name");
        long serial = r.u64("serial");
        try {
            Builder b = builder(name, serial);
            b.validity(Instant.ofEpochSecond(r.u64("notBefore")), Instant.ofEpochSecond(r.u64("notAfter")));
            b.minProtocolVersion(r.u16("minimum protocol version"));
            int nSuites = r.count16(MAX_SUITES, 2, "suite");
            String prev = null;
            for (int i = 0; i < nSuites; i++) {
                String s = r.str(MAX_SUITE, "suite");
                if (prev != null && prev.compareTo(s) >= 0) {
                    throw r.malformed("suites are not strictly ascending at \"" + s + "\"");
                }
                b.allowSuite(s);
                prev = s;
            }
            int nMeas = r.count32(MAX_MEASUREMENTS, 34, "measurement");
            byte[] prevM = null;
            for (int i = 0; i < nMeas; i++) {
                byte[] m = r.fixed(Certificates.MEASUREMENT_BYTES, "measurement");
                String label = r.str(MAX_LABEL, "measurement label");
                if (prevM != null && Arrays.compareUnsigned(prevM, m) >= 0) {
                    throw r.malformed("measurements are not strictly ascending at " + Hex.abbrev(m));
                }
                b.allowMeasurement(m, label);
                prevM = m;
            }
            int nRules = r.count32(MAX_RULES, 4, "receive rule");
            ReceiveRule prevR = null;
            for (int i = 0; i < nRules; i++) {
                ReceiveRule rule = new ReceiveRule(r.str(MAX_PATTERN, "host pattern"), r.str(MAX_PATTERN, "VM pattern"));
                if (prevR != null && prevR.compareTo(rule) >= 0) {
                    throw r.malformed("receive rules are not strictly ascending at " + rule);
                }
                b.allowReceive(rule.hostPattern(), rule.vmPattern());
                prevR = rule;
            }
            int nRev = r.count32(MAX_REVOKED, Certificates.FINGERPRINT_BYTES, "revoked AK");
            byte[] prevF = null;
            for (int i = 0; i < nRev; i++) {
                byte[] fp = r.fixed(Certificates.FINGERPRINT_BYTES, "revoked AK fingerprint");
                if (prevF != null && Arrays.compareUnsigned(prevF, fp) >= 0) {
                    throw r.malformed("revoked AKs are not strictly ascending at " + Hex.abbrev(fp));
                }
                b.revoke(fp);
                prevF = fp;
            }
            if (format == FORMAT_WITH_DOM0_SIGNERS) {
                int nDom0 = r.count32(MAX_DOM0_SIGNERS, 3, "dom0 signer pattern");
                if (nDom0 == 0) {
                    throw r.malformed("format 2 with no dom0 signer pattern (the canonical form is format 1)");
                }
                String prevP = null;
                for (int i = 0; i < nDom0; i++) {
                    String p = r.str(MAX_PATTERN, "dom0 signer pattern");
                    if (prevP != null && prevP.compareTo(p) >= 0) {
                        throw r.malformed("dom0 signer patterns are not strictly ascending at \"" + p + "\"");
                    }
                    b.allowDom0Signer(p);
                    prevP = p;
                }
            }
            r.expectEnd();
            return b.build();
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            throw r.malformed(e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Policy p && Arrays.equals(toCanonicalBytes(), p.toCanonicalBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toCanonicalBytes());
    }

    @Override
    public String toString() {
        return describe();
    }

    static void requireGlob(String pattern, String what) {
        if (pattern == null || !GLOB.matcher(pattern).matches()) {
            throw new IllegalArgumentException(what + " \"" + pattern
                    + "\" is invalid: use 1-128 letters, digits, '.', '_', '-', and the wildcards '*' and '?'");
        }
    }

    /** Glob match without regex, so a pattern from a policy cannot cause catastrophic backtracking. */
    static boolean glob(String pattern, String text) {
        int p = 0;
        int t = 0;
        int star = -1;
        int mark = 0;
        while (t < text.length()) {
            if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == text.charAt(t))) {
                p++;
                t++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                star = p++;
                mark = t;
            } else if (star >= 0) {
                p = star + 1;
                t = ++mark;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }

    /** Collects and validates a policy's fields. */
    public static final class Builder {
        private final String name;
        private long serial;
        private Instant notBefore = Instant.EPOCH;
        private Instant notAfter;
        private int minProtocolVersion = 1;
        private final SortedMap<String, String> suites = new TreeMap<>();
        private final SortedMap<String, String> measurements = new TreeMap<>();
        private final Set<ReceiveRule> receiveRules = new TreeSet<>(Comparator.naturalOrder());
        private final Set<String> revokedAks = new TreeSet<>();
        private final Set<String> dom0Signers = new TreeSet<>();

        private Builder(String name, long serial) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > MAX_NAME || name.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("policy name must be 1-128 printable characters");
            }
            this.name = name;
            this.serial = serial;
        }

        public Builder serial(long serial) {
            this.serial = serial;
            return this;
        }

        public Builder validity(Instant notBefore, Instant notAfter) {
            if (!notAfter.isAfter(notBefore)) {
                throw new IllegalArgumentException("policy expiry " + notAfter + " is not after its start " + notBefore);
            }
            this.notBefore = Instant.ofEpochSecond(notBefore.getEpochSecond());
            this.notAfter = Instant.ofEpochSecond(notAfter.getEpochSecond());
            return this;
        }

        public Builder minProtocolVersion(int version) {
            if (version < 0 || version > 0xffff) {
                throw new IllegalArgumentException("protocol version must be 0-65535, got " + version);
            }
            this.minProtocolVersion = version;
            return this;
        }

        public Builder allowSuite(String suite) {
            if (suite == null || !SUITE.matcher(suite).matches()) {
                throw new IllegalArgumentException("suite name \"" + suite + "\" is invalid (1-64 ASCII letters, digits, _.+/-)");
            }
            suites.put(suite, "");
            return this;
        }

        /** @param label a name people recognise ("xen-4.17-sealift-1.2"), or "" */
        public Builder allowMeasurement(byte[] measurement, String label) {
            if (measurement.length != Certificates.MEASUREMENT_BYTES) {
                throw new IllegalArgumentException("measurement must be 32 bytes, got " + measurement.length);
            }
            String l = label == null ? "" : label;
            if (l.length() > MAX_LABEL || l.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("measurement label must be at most 128 printable characters");
            }
            measurements.put(Hex.encode(measurement), l);
            return this;
        }

        public Builder removeMeasurement(byte[] measurement) {
            measurements.remove(Hex.encode(measurement));
            return this;
        }

        public Builder allowReceive(String hostPattern, String vmPattern) {
            receiveRules.add(new ReceiveRule(hostPattern, vmPattern));
            return this;
        }

        public Builder revoke(byte[] akFingerprint) {
            if (akFingerprint.length != Certificates.FINGERPRINT_BYTES) {
                throw new IllegalArgumentException("AK fingerprint must be 32 bytes, got " + akFingerprint.length);
            }
            revokedAks.add(Hex.encode(akFingerprint));
            return this;
        }

        /**
         * Accepts records signed by the dom0-held keys of hosts matching {@code hostPattern} (a glob). Explicit on
         * purpose: such records say what the agents did, not what a hypervisor enforced.
         */
        public Builder allowDom0Signer(String hostPattern) {
            requireGlob(hostPattern, "dom0 signer host pattern");
            dom0Signers.add(hostPattern);
            return this;
        }

        public Builder removeDom0Signer(String hostPattern) {
            dom0Signers.remove(hostPattern);
            return this;
        }

        public Policy build() {
            if (notAfter == null) {
                throw new IllegalArgumentException("policy '" + name + "' needs a validity (notBefore, expiry)");
            }
            return new Policy(this);
        }
    }
}
