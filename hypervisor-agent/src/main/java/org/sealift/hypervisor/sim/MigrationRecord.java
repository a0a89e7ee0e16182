package org.sealift.hypervisor.sim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.protocol.token.TokenKind;

/**
 * One migration as the hypervisor records it in its sealed state: what it decided, what it needs to prove it later
 * (tokens it issued or received, the peer's AK certificate to verify the peer's tokens after a restart) and what the
 * attestation record reports. Mutated only under {@link SimHypervisor}'s decision lock.
 */
final class MigrationRecord {

    final MigrationId id;
    final MigrationRole role;
    final String vmName;
    int domId;
    MigrationState state;
    boolean inDoubt;
    String detail = "";
    boolean plain;

    String peerHostId;
    /**
     * The peer as dom0 named it before any handshake authenticated it (the destination it asked this source to migrate
     * to; the source its agent said the offer came from). Not sealed: it only names the unidentified peer in the record
     * of a rejected handshake, so that both hosts' records of one refusal name the same pair and the logs'
     * cross-check pairs them.
     */
    String requestedPeer;
    byte[] peerAkCertificate;
    byte[] transcriptHash;
    byte[] manifestDigest;
    long policySerial;
    String suite = "";

    long startMillis;
    long pauseMillis;
    long resumeMillis;
    long endMillis;
    String outcomeReason = "";

    /** Tokens this hypervisor signed or accepted, by kind (encoded). */
    final Map<TokenKind, byte[]> tokens = new EnumMap<>(TokenKind.class);
    /** Anomaly kind → count, and the first example of each. */
    final Map<String, Long> anomalies = new TreeMap<>();
    final Map<String, String> anomalyExamples = new TreeMap<>();

    MigrationRecord(MigrationId id, MigrationRole role, String vmName, int domId, MigrationState state) {
        this.id = id;
        this.role = role;
        this.vmName = vmName;
        this.domId = domId;
        this.state = state;
    }

    void anomaly(String kind, String example) {
        anomalies.merge(kind, 1L, Long::sum);
        anomalyExamples.putIfAbsent(kind, example);
    }

    /** The lock is held until the migration reaches a final state. */
    boolean holdsLock() {
        return !state.isFinal();
    }

    MigrationDecision toDecision() {
        Optional<String> fp = Optional.empty();
        if (peerAkCertificate != null) {
            try {
                fp = Optional.of(java.util.HexFormat.of().formatHex(org.sealift.protocol.pki.Certificates
                        .fingerprint(org.sealift.protocol.pki.Certificates.parse(peerAkCertificate))));
            } catch (org.sealift.protocol.ProtocolException e) {
                // our own sealed copy of a certificate that verified once: cannot fail to parse
            }
        }
        return new MigrationDecision(id, role, vmName, domId, Optional.ofNullable(peerHostId), state, inDoubt,
                describe(), Optional.ofNullable(manifestDigest).map(java.util.HexFormat.of()::formatHex), fp);
    }

    private String describe() {
        if (!detail.isEmpty()) {
            return detail;
        }
        String peer = peerHostId == null ? "the peer" : peerHostId;
        return switch (state) {
            case PLAIN -> "plain migration of " + vmName + " in progress";
            case HANDSHAKE -> "handshake with " + peer + " in progress";
            case PRECOPY -> role == MigrationRole.SOURCE ? "sending " + vmName + " to " + peer
                    : "receiving " + vmName + " from " + peer;
            case FROZEN -> "MANIFEST sealed, protected processes frozen; waiting for READY from " + peer
                    + " (a local resume aborts the migration)";
            case READY -> "every protected page verified, READY sent; waiting for RELEASE from " + peer
                    + " (or import its RELEASE token)";
            case RELEASED -> "RELEASE issued; " + vmName + " stays paused here until DONE from " + peer
                    + ", or import " + peer + "'s ABORT token or a fence";
            case RESUMING -> "RELEASE verified, resuming " + vmName;
            case COMMITTED -> vmName + " runs at the destination";
            case ABORTED_BY_SOURCE -> "aborted by the source" + reasonSuffix();
            case ABORTED_BY_DESTINATION -> "aborted by the destination" + reasonSuffix();
            case FENCED -> "decided by an operator's fence";
        };
    }

    private String reasonSuffix() {
        return outcomeReason.isEmpty() ? "" : ": " + outcomeReason;
    }

    void write(DataOutputStream out) throws IOException {
        out.write(id.bytes());
        out.writeByte(role.ordinal());
        out.writeUTF(vmName);
        out.writeInt(domId);
        out.writeByte(state.ordinal());
        out.writeBoolean(inDoubt);
        out.writeUTF(detail);
        out.writeBoolean(plain);
        writeOpt(out, peerHostId);
        writeBytes(out, peerAkCertificate);
        writeBytes(out, transcriptHash);
        writeBytes(out, manifestDigest);
        out.writeLong(policySerial);
        out.writeUTF(suite);
        out.writeLong(startMillis);
        out.writeLong(pauseMillis);
        out.writeLong(resumeMillis);
        out.writeLong(endMillis);
        out.writeUTF(outcomeReason);
        out.writeInt(tokens.size());
        for (var e : tokens.entrySet()) {
            out.writeByte(e.getKey().wire());
            writeBytes(out, e.getValue());
        }
        out.writeInt(anomalies.size());
        for (var e : anomalies.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
            out.writeUTF(anomalyExamples.getOrDefault(e.getKey(), ""));
        }
    }

    static MigrationRecord read(DataInputStream in) throws IOException {
        byte[] id = new byte[MigrationId.LENGTH];
        in.readFully(id);
        MigrationRole role = MigrationRole.values()[in.readUnsignedByte()];
        String vm = in.readUTF();
        int domId = in.readInt();
        MigrationState state = MigrationState.values()[in.readUnsignedByte()];
        MigrationRecord r = new MigrationRecord(MigrationId.of(id), role, vm, domId, state);
        r.inDoubt = in.readBoolean();
        r.detail = in.readUTF();
        r.plain = in.readBoolean();
        r.peerHostId = readOpt(in);
        r.peerAkCertificate = readBytes(in);
        r.transcriptHash = readBytes(in);
        r.manifestDigest = readBytes(in);
        r.policySerial = in.readLong();
        r.suite = in.readUTF();
        r.startMillis = in.readLong();
        r.pauseMillis = in.readLong();
        r.resumeMillis = in.readLong();
        r.endMillis = in.readLong();
        r.outcomeReason = in.readUTF();
        int nt = in.readInt();
        for (int i = 0; i < nt; i++) {
            TokenKind k = TokenKind.fromWire(in.readUnsignedByte());
            byte[] t = readBytes(in);
            if (k == null) {
                throw new IOException("unknown token kind in sealed state");
            }
            r.tokens.put(k, t);
        }
        int na = in.readInt();
        for (int i = 0; i < na; i++) {
            String k = in.readUTF();
            r.anomalies.put(k, in.readLong());
            r.anomalyExamples.put(k, in.readUTF());
        }
        return r;
    }

    private static void writeOpt(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readOpt(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }

    static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(b.length);
            out.write(b);
        }
    }

    static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        if (n > (1 << 20)) {
            throw new IOException("field of " + n + " bytes in sealed state");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}
