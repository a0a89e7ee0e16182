package org.sealift.agent.xen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.sealift.agent.spi.HostIdentity;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.PlainMigrationFacts;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.SignedAttestation;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.Party;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.attest.Statistics;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Dom0Signer;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.SignedPolicy;

/**
 * The record signer of a Xen host whose hypervisor cannot hold an attestation key (every unpatched Xen): an Ed25519
 * key that this agent keeps in dom0 ({@code <data dir>/dom0-signer/key.pem}, owner-only, generated once, on the first
 * enrollment request), certified by the cluster CA only on an operator's explicit {@code sealift ca enroll --host ID
 * --dom0-signer} (protocol library: {@link Dom0Signer}). It signs the attestation records of plain migrations and
 * the head of this host's log. Everything it signs is what the agents reported: dom0, which the threat model does
 * not trust, holds the key and could sign anything else; verifiers say so ({@link Dom0Signer#TRUST_LEVEL}) and never
 * take the key for an AK. The log head it tracks ({@code log-head}) is dom0's file too, so a signed head does not
 * show a rollback by dom0.
 *
 * <p>The certificates of the other hosts' dom0 signers, which a record names, come from the credentials
 * directory's {@code dom0-signers.pem} (written by {@code ca enroll --dom0-signer}; re-read on every use).
 */
final class Dom0RecordSigner {

    static final String DIR = "dom0-signer";
    static final String KEY_FILE = "key.pem";
    static final String PUBLIC_KEY_FILE = "key.pub.pem";
    static final String CHAIN_FILE = "chain.crt";
    static final String TRUST_FILE = "cluster-trust.pem";
    static final String POLICY_FILE = "policy.pem";
    static final String HEAD_FILE = "log-head";
    /** In the credentials directory: every dom0 signer certificate of the cluster. */
    static final String PEERS_FILE = "dom0-signers.pem";

    private static final String PUBLIC_KEY = "PUBLIC KEY";

    private final String hostId;
    private final Path dir;
    private final Path credentialsDir;
    private AttestationSigner key;
    private List<byte[]> chain = List.of();
    private ClusterTrust trust;
    private long policySerial;
    private long headSize;
    private byte[] headHash;
    private long counter;
    /** This host's own view of each migration it signed, for checking the peer's proposal. */
    private final Map<MigrationId, AttestationRecord> ownViews = new ConcurrentHashMap<>();

    private Dom0RecordSigner(String hostId, Path dir, Path credentialsDir) {
        this.hostId = hostId;
        this.dir = dir;
        this.credentialsDir = credentialsDir;
        this.headHash = AttestationLog.genesis(hostId);
    }

    /** Loads what an earlier run left in {@code dataDir/dom0-signer} (nothing is created until it is needed). */
    static Dom0RecordSigner open(String hostId, Path dataDir, Path credentialsDir) throws HypervisorException {
        Certificates.requireHostId(hostId);
        Dom0RecordSigner s = new Dom0RecordSigner(hostId, dataDir.resolve(DIR), credentialsDir);
        try {
            if (Files.exists(s.dir.resolve(KEY_FILE))) {
                s.key = loadKey(s.dir);
            }
            if (Files.exists(s.dir.resolve(TRUST_FILE))) {
                s.trust = ClusterTrust.load(s.dir.resolve(TRUST_FILE));
            }
            if (Files.exists(s.dir.resolve(CHAIN_FILE))) {
                s.chain = Certificates.encodeChain(Certificates.read(s.dir.resolve(CHAIN_FILE)));
            }
            if (Files.exists(s.dir.resolve(POLICY_FILE))) {
                s.policySerial = SignedPolicy.load(s.dir.resolve(POLICY_FILE)).unverifiedPolicy().serial();
            }
            if (Files.exists(s.dir.resolve(HEAD_FILE))) {
                String[] f = Files.readString(s.dir.resolve(HEAD_FILE), StandardCharsets.US_ASCII).trim().split(" ");
                s.headSize = Long.parseLong(f[0]);
                s.headHash = Hex.decode(f[1]);
                s.counter = Long.parseLong(f[2]);
            }
        } catch (IOException | ProtocolException | RuntimeException e) {
            throw new HypervisorException(Reason.INTERNAL, "the dom0 record signer of host " + hostId + " in "
                    + s.dir + " is unusable: " + e.getMessage() + "; move the directory away and enroll again", e);
        }
        return s;
    }

    private static AttestationSigner loadKey(Path dir) throws IOException {
        PrivateKey priv = Pem.readPrivateKey(dir.resolve(KEY_FILE));
        List<Pem.Block> pub = Pem.read(dir.resolve(PUBLIC_KEY_FILE));
        if (pub.size() != 1 || !PUBLIC_KEY.equals(pub.get(0).type())) {
            throw new IOException(dir.resolve(PUBLIC_KEY_FILE) + " holds no PUBLIC KEY block");
        }
        PublicKey pk;
        try {
            pk = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(pub.get(0).content()));
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(dir.resolve(PUBLIC_KEY_FILE) + " is not an Ed25519 public key", e);
        }
        AttestationSigner s = AttestationSigner.of(new KeyPair(pk, priv));
        byte[] probe = "sealift dom0 signer key check".getBytes(StandardCharsets.US_ASCII);
        try {
            if (!AttestationSigner.verify(pk, probe, s.sign(probe))) {
                throw new IOException(dir.resolve(KEY_FILE) + " and " + dir.resolve(PUBLIC_KEY_FILE)
                        + " are not one key pair");
            }
        } catch (ProtocolException e) {
            throw new IOException(e.getMessage(), e);
        }
        return s;
    }

    /** The key, generated on first use: private half owner-only from creation on, public half beside it. */
    private synchronized AttestationSigner key() throws HypervisorException {
        if (key == null) {
            try {
                KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                Files.createDirectories(dir);
                Pem.write(dir.resolve(PUBLIC_KEY_FILE), List.of(new Pem.Block(PUBLIC_KEY, kp.getPublic()
                        .getEncoded())));
                Pem.writePrivateKey(dir.resolve(KEY_FILE), kp.getPrivate());
                key = AttestationSigner.of(kp);
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new HypervisorException(Reason.INTERNAL, "cannot create the dom0 record signer's key in " + dir
                        + ": " + e.getMessage(), e);
            }
        }
        return key;
    }

    /** The PEM text 'sealift ca enroll --host ID --dom0-signer --csr FILE' reads, with comments saying what it is. */
    synchronized byte[] enrollmentRequest() throws HypervisorException {
        byte[] csr;
        try {
            csr = Dom0Signer.createCsr(key(), hostId);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
        String text = "# dom0-held record signer of host " + hostId + " (" + Dom0Signer.STATEMENT + ")\n"
                + "# This host's hypervisor cannot hold an attestation key (unpatched Xen). The key below lives in\n"
                + "# dom0; records it signs show what the agents did, not what a hypervisor enforced.\n"
                + "# Certify it only if that is wanted: sealift ca enroll --host " + hostId
                + " --dom0-signer --csr FILE\n" + Pem.encode(Pem.CERTIFICATE_REQUEST, csr);
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    synchronized void installTrust(byte[] pem) throws HypervisorException {
        try {
            ClusterTrust t = ClusterTrust.fromPem(new String(pem, StandardCharsets.US_ASCII));
            if (trust != null) {
                if (!trust.toPem().equals(t.toPem())) {
                    throw new HypervisorException(Reason.REFUSED, "host " + hostId + "'s dom0 record signer is pinned"
                            + " to cluster CA " + trust.describe() + ", not " + t.describe());
                }
                return;
            }
            Files.createDirectories(dir);
            t.save(dir.resolve(TRUST_FILE));
            trust = t;
        } catch (IOException | ProtocolException e) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "not a cluster trust file: " + e.getMessage(), e);
        }
    }

    synchronized void installPolicy(byte[] signed) throws HypervisorException {
        try {
            SignedPolicy sp = SignedPolicy.parse(signed);
            if (trust == null) {
                throw new HypervisorException(Reason.NOT_ENROLLED, "install the cluster trust before a policy");
            }
            long serial = sp.verify(trust).serial();
            if (Long.compareUnsigned(serial, policySerial) < 0) {
                throw new HypervisorException(Reason.REFUSED, "policy serial " + Long.toUnsignedString(serial)
                        + " is older than serial " + Long.toUnsignedString(policySerial) + " installed already");
            }
            Files.createDirectories(dir);
            sp.save(dir.resolve(POLICY_FILE));
            policySerial = serial;
        } catch (IOException | ProtocolException e) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "policy refused: " + e.getMessage(), e);
        }
    }

    /** Installs the dom0-signer certificate chain the CA issued for this key (leaf first). */
    synchronized void installCertificate(List<byte[]> chainDer) throws HypervisorException {
        try {
            List<X509Certificate> certs = Certificates.parseChain(chainDer);
            X509Certificate leaf = certs.get(0);
            if (!Dom0Signer.isDom0Signer(leaf)) {
                throw new HypervisorException(Reason.INVALID_ARGUMENT, "certificate " + Certificates.describe(leaf)
                        + " is not a dom0-signer certificate; on this host (no attestation key in the hypervisor) the"
                        + " CA issues one with 'sealift ca enroll --host " + hostId + " --dom0-signer'");
            }
            if (key == null || !Arrays.equals(leaf.getPublicKey().getEncoded(), key.publicKey().getEncoded())) {
                throw new HypervisorException(Reason.INVALID_ARGUMENT, "certificate " + Certificates.describe(leaf)
                        + " certifies another key than this host's dom0 record signer in " + dir
                        + "; enroll the request this host wrote");
            }
            if (!Certificates.subjectCn(leaf).equals(hostId)) {
                throw new HypervisorException(Reason.INVALID_ARGUMENT, "certificate " + Certificates.describe(leaf)
                        + " names another host than " + hostId);
            }
            if (trust != null) {
                try {
                    leaf.verify(trust.caCertificate().getPublicKey());
                } catch (java.security.GeneralSecurityException e) {
                    throw new HypervisorException(Reason.INVALID_ARGUMENT, "certificate "
                            + Certificates.describe(leaf) + " is not issued by cluster CA " + trust.describe());
                }
            }
            Files.createDirectories(dir);
            Certificates.write(dir.resolve(CHAIN_FILE), certs);
            chain = List.copyOf(chainDer);
        } catch (IOException | ProtocolException e) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "cannot install the dom0 signer certificate: "
                    + e.getMessage(), e);
        }
    }

    synchronized boolean enrolled() {
        return !chain.isEmpty() && key != null;
    }

    synchronized HostIdentity identity() {
        return new HostIdentity(hostId, new byte[32], "none (unpatched hypervisor; records signed by a dom0-held key)",
                List.of(), chain, policySerial);
    }

    private void requireEnrolled(String what) throws HypervisorException {
        if (!enrolled()) {
            throw new HypervisorException(Reason.NOT_ENROLLED, "host " + hostId + " has no dom0 record signer enrolled"
                    + " to " + what + ": write its request with 'sealift agent --enrollment-request FILE', certify it"
                    + " with 'sealift ca enroll --host " + hostId + " --dom0-signer --csr FILE' and copy the"
                    + " credentials to " + credentialsDir);
        }
    }

    /** This host's dom0 signer as a record party: no measurement, since nothing measured this hypervisor. */
    private Party self() throws HypervisorException {
        try {
            return new Party(hostId, Certificates.fingerprint(Certificates.parse(chain.get(0))), new byte[32]);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    /** Another host's dom0 signer, from the cluster's dom0-signers.pem (the newest certificate of that host). */
    private Party peer(String host) throws HypervisorException {
        Path f = credentialsDir.resolve(PEERS_FILE);
        X509Certificate best = null;
        try {
            if (Files.exists(f)) {
                for (X509Certificate c : Certificates.read(f)) {
                    if (Dom0Signer.isDom0Signer(c) && Certificates.subjectCn(c).equals(host)
                            && (best == null || c.getNotBefore().after(best.getNotBefore()))) {
                        best = c;
                    }
                }
            }
        } catch (IOException e) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "cannot read " + f + ": " + e.getMessage(), e);
        }
        if (best == null) {
            throw new HypervisorException(Reason.NOT_ENROLLED, "no dom0 signer certificate of host " + host + " in " + f
                    + "; copy the CA's " + PEERS_FILE + " (written by 'sealift ca enroll --dom0-signer') to this host");
        }
        return new Party(host, Certificates.fingerprint(best), new byte[32]);
    }

    /** Builds and signs this host's view of a plain migration from the agent's facts. */
    synchronized SignedAttestation sign(PlainMigrationFacts facts, Instant paused, Instant resumed)
            throws HypervisorException {
        requireEnrolled("sign the record of plain migration " + facts.id());
        boolean source = facts.role() == MigrationRole.SOURCE;
        if (!(source ? facts.sourceHost() : facts.destinationHost()).equals(hostId)) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "the facts of migration " + facts.id()
                    + " do not name host " + hostId + " as " + (source ? "source" : "destination"));
        }
        Party me = self();
        Party other = peer(source ? facts.destinationHost() : facts.sourceHost());
        AttestationRecord rec = build(facts, source ? me : other, source ? other : me, paused, resumed);
        ownViews.put(facts.id(), rec);
        return new SignedAttestation(facts.role(), rec.toCanonicalBytes(), signRecord(rec, source));
    }

    /** Countersigns the peer's proposal after comparing every field this host's own view has. */
    synchronized SignedAttestation countersign(MigrationId id, byte[] proposed) throws HypervisorException {
        requireEnrolled("countersign the record of migration " + id);
        AttestationRecord mine = ownViews.get(id);
        if (mine == null) {
            throw new HypervisorException(Reason.REFUSED, "host " + hostId + " has not recorded plain migration " + id
                    + " itself (its agent signs its own view first), so it will not countersign one");
        }
        AttestationRecord theirs;
        try {
            theirs = AttestationRecord.fromCanonicalBytes(proposed);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
        Map<String, String> a = mine.fields();
        Map<String, String> b = theirs.fields();
        for (String k : List.of("migrationId", "vmId", "source.hostId", "source.akFingerprint",
                "source.measurement", "destination.hostId", "destination.akFingerprint", "destination.measurement",
                "suite", "outcome")) {
            if (!String.valueOf(a.get(k)).equals(String.valueOf(b.get(k)))) {
                throw new HypervisorException(Reason.REFUSED, ProtocolException.Reason.TAMPERED, "host " + hostId
                        + " will not countersign the record of migration " + id + ": its " + k + " " + b.get(k)
                        + " differs from this host's " + a.get(k), null);
            }
        }
        boolean source = mine.source().hostId().equals(hostId);
        return new SignedAttestation(source ? MigrationRole.SOURCE : MigrationRole.DESTINATION, proposed,
                signRecord(theirs, source));
    }

    private byte[] signRecord(AttestationRecord rec, boolean source) throws HypervisorException {
        try {
            return key.sign(rec.signedMessage(source ? Side.SOURCE : Side.DESTINATION));
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    private AttestationRecord build(PlainMigrationFacts f, Party src, Party dst, Instant paused, Instant resumed)
            throws HypervisorException {
        Outcome outcome = switch (f.outcome()) {
            case "COMMITTED" -> Outcome.COMMITTED;
            case "ABORTED_BY_DESTINATION" -> Outcome.ABORTED_BY_DESTINATION;
            case "REJECTED" -> Outcome.REJECTED;
            default -> Outcome.ABORTED_BY_SOURCE;
        };
        String detail = "plain migration on an unpatched hypervisor: every field is as the agents reported it";
        String reason = "";
        if (outcome != Outcome.COMMITTED) {
            String[] parts = f.reason().split(": ", 2);
            reason = parts[0].matches("[A-Z][A-Z0-9_]{0,39}") ? parts[0] : outcome == Outcome.REJECTED ? "REFUSED"
                    : "ABORTED";
            String why = parts.length > 1 && !reason.equals("ABORTED") && !reason.equals("REFUSED") ? parts[1]
                    : f.reason();
            detail = (why + "; " + detail);
            detail = detail.length() > 1000 ? detail.substring(0, 1000) : detail;
        }
        try {
            return AttestationRecord.builder().migrationId(f.id().bytes())
                    .vmId(UUID.nameUUIDFromBytes(("sealift-vm:" + f.vm()).getBytes(StandardCharsets.UTF_8)))
                    .source(src).destination(dst).policySerial(policySerial).suite(AttestationRecord.PLAIN_SUITE)
                    .started(f.started()).paused(paused).resumed(resumed).outcome(outcome, reason, detail)
                    .statistics(statistics(f.agentStatistics())).build();
        } catch (IllegalArgumentException e) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "the record of plain migration " + f.id()
                    + " cannot be built: " + e.getMessage(), e);
        }
    }

    /** The engine's AgentStatistics encoding (label, mode, rounds, pages, bytes, downtime ns, total ns). */
    private static Statistics statistics(byte[] enc) throws HypervisorException {
        try {
            CanonicalReader r = new CanonicalReader(enc, "agent statistics");
            r.str(64, "label");
            r.str(16, "mode");
            long rounds = r.u32("rounds");
            long normal = r.u64("normal");
            long prot = r.u64("protected");
            long zero = r.u64("zero");
            long bytes = r.u64("bytes");
            long downNs = r.u64("downtime");
            long totalNs = r.u64("total");
            r.expectEnd();
            return new Statistics(rounds, normal, prot, zero, bytes, downNs / 1_000_000, totalNs / 1_000_000);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

    /** The hypervisor's half of the log, kept by dom0 here: index and previous hash must follow on. */
    synchronized LogHead append(long index, byte[] previousHash, byte[] recordBytes) throws HypervisorException {
        requireEnrolled("track its attestation log");
        if (index != headSize || !Arrays.equals(previousHash, headHash)) {
            throw new HypervisorException(Reason.REFUSED, "log entry " + index + " does not follow the head this"
                    + " dom0 signer recorded (" + headSize + " entries, head " + Hex.abbrev(headHash) + ")");
        }
        byte[] hash = new LogEntry(index, previousHash, recordBytes).hash();
        long size = headSize + 1;
        long next = counter + 1;
        try {
            Path tmp = dir.resolve(HEAD_FILE + ".tmp");
            Files.writeString(tmp, size + " " + Hex.encode(hash) + " " + next + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, dir.resolve(HEAD_FILE), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HypervisorException(Reason.INTERNAL, "cannot record the log head in " + dir + ": "
                    + e.getMessage(), e);
        }
        headSize = size;
        headHash = hash;
        counter = next;
        return new LogHead(headSize, headHash, counter, new byte[0], new byte[0], new byte[0]);
    }

    synchronized LogHead signHead(byte[] nonce) throws HypervisorException {
        requireEnrolled("sign its log head");
        if (nonce.length != SignedHead.NONCE_BYTES) {
            throw new HypervisorException(Reason.INVALID_ARGUMENT, "a verifier nonce is " + SignedHead.NONCE_BYTES
                    + " bytes, got " + nonce.length);
        }
        try {
            SignedHead h = SignedHead.sign(key, hostId, headSize, headHash, counter, nonce);
            byte[] enc = h.encoded();
            return new LogHead(headSize, headHash, counter, nonce, h.signedMessage(),
                    Arrays.copyOfRange(enc, enc.length - SignedHead.SIGNATURE_BYTES, enc.length));
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }

}
