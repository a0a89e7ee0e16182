package org.sealift.protocol.attest;

import java.util.Arrays;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.CanonicalWriter;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;

/**
 * The hypervisor's signed statement of where its log ends, made on request with a verifier's fresh nonce:
 * {@code "SMP1/LOG-HEAD" ‖ u16 length ‖ host id ‖ u64 size (number of entries) ‖ [32] head hash ‖ u64 counter ‖
 * [32] nonce ‖ [32] AK fingerprint}, followed in the encoding by the 64-byte AK signature over those bytes. The
 * hypervisor takes size and head hash from its sealed state (not from dom0's file) and the counter from its
 * monotonic counter, so a truncated or rolled-back file no longer matches a fresh head.
 */
public final class SignedHead {

    static final byte[] CONTEXT = CanonicalWriter.ascii("SMP1/LOG-HEAD");
    public static final int NONCE_BYTES = 32;
    public static final int SIGNATURE_BYTES = 64;

    private final String hostId;
    private final long size;
    private final byte[] headHash;
    private final long counter;
    private final byte[] nonce;
    private final byte[] akFingerprint;
    private final byte[] signature;

    private SignedHead(String hostId, long size, byte[] headHash, long counter, byte[] nonce, byte[] akFingerprint,
            byte[] signature) {
        this.hostId = hostId;
        this.size = size;
        this.headHash = headHash;
        this.counter = counter;
        this.nonce = nonce;
        this.akFingerprint = akFingerprint;
        this.signature = signature;
    }

    /**
     * Signs a head inside the hypervisor.
     *
     * @param size     number of entries the hypervisor has appended (from its sealed state)
     * @param headHash hash of the last entry, or {@link AttestationLog#genesis} for an empty log
     * @param counter  the hypervisor's monotonic counter now
     * @param nonce    the verifier's fresh 32-byte nonce ({@link Challenge#nonce()})
     */
    public static SignedHead sign(AttestationSigner ak, String hostId, long size, byte[] headHash, long counter,
            byte[] nonce) throws ProtocolException {
        Certificates.requireHostId(hostId);
        if (headHash.length != 32 || nonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("head hash and nonce must be 32 bytes each");
        }
        byte[] fp = Certificates.fingerprint(ak.publicKey());
        byte[] msg = message(hostId, size, headHash, counter, nonce, fp);
        return new SignedHead(hostId, size, headHash.clone(), counter, nonce.clone(), fp, ak.sign(msg));
    }

    /** Convenience for a hypervisor whose sealed head equals {@code log}'s current end. */
    public static SignedHead sign(AttestationSigner ak, AttestationLog log, long counter, byte[] nonce)
            throws ProtocolException {
        return sign(ak, log.hostId(), log.size(), log.headHash(), counter, nonce);
    }

    static byte[] message(String hostId, long size, byte[] headHash, long counter, byte[] nonce, byte[] fp) {
        return new CanonicalWriter().raw(CONTEXT).str(hostId).u64(size).fixed(headHash, 32).u64(counter)
                .fixed(nonce, NONCE_BYTES).fixed(fp, 32).toByteArray();
    }

    public byte[] signedMessage() {
        return message(hostId, size, headHash, counter, nonce, akFingerprint);
    }

    public String hostId() {
        return hostId;
    }

    /** Number of entries the head covers (its last entry has index size − 1). */
    public long size() {
        return size;
    }

    public byte[] headHash() {
        return headHash.clone();
    }

    public long counter() {
        return counter;
    }

    public byte[] nonce() {
        return nonce.clone();
    }

    public byte[] akFingerprint() {
        return akFingerprint.clone();
    }

    public boolean verifies(java.security.PublicKey ak) {
        return AttestationSigner.verify(ak, signedMessage(), signature);
    }

    public byte[] encoded() {
        return new CanonicalWriter().raw(signedMessage()).fixed(signature, SIGNATURE_BYTES).toByteArray();
    }

    /** Parses untrusted bytes; MALFORMED on any format error. Fuzz entry point. */
    public static SignedHead parse(byte[] bytes) throws ProtocolException {
        CanonicalReader r = new CanonicalReader(bytes, "signed log head");
        r.expect(CONTEXT, "magic");
        String host = r.str(AttestationLog.MAX_HOST_ID, "host id");
        if (!Certificates.isValidHostId(host)) {
            throw r.malformed("host id is invalid");
        }
        long size = r.u64("size");
        byte[] hash = r.fixed(32, "head hash");
        long counter = r.u64("counter");
        byte[] nonce = r.fixed(NONCE_BYTES, "nonce");
        byte[] fp = r.fixed(32, "AK fingerprint");
        byte[] sig = r.fixed(SIGNATURE_BYTES, "signature");
        r.expectEnd();
        return new SignedHead(host, size, hash, counter, nonce, fp, sig);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignedHead h && Arrays.equals(encoded(), h.encoded());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encoded());
    }

    @Override
    public String toString() {
        return "head of host " + hostId + ": " + Long.toUnsignedString(size) + " entries, hash "
                + Hex.abbrev(headHash) + ", counter " + Long.toUnsignedString(counter);
    }
}
