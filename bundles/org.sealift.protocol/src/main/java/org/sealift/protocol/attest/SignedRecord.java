package org.sealift.protocol.attest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.CanonicalWriter;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Pem;

/**
 * An attestation record with the signatures of its source and/or destination AK. Each hypervisor signs
 * {@link AttestationRecord#signedMessage(Side)} over fields it computed itself; the final record carries both
 * signatures (a REJECTED one may carry one). Encoding: {@code u32 length ‖ record canonical bytes ‖ u8 flags (bit 0
 * source signature present, bit 1 destination) ‖ [64] source signature? ‖ [64] destination signature?}. File form:
 * PEM "SEALIFT ATTESTATION RECORD". Parsing checks the format only; {@link LogVerifier} checks the signatures.
 */
public final class SignedRecord {

    public static final String PEM_TYPE = "SEALIFT ATTESTATION RECORD";
    public static final int SIGNATURE_BYTES = 64;
    /** A record with every string at its limit is under 2 KiB; this leaves room and still bounds a parser. */
    public static final int MAX_RECORD_BYTES = 16 * 1024;
    public static final int MAX_ENCODED_BYTES = 4 + MAX_RECORD_BYTES + 1 + 2 * SIGNATURE_BYTES;

    private final AttestationRecord record;
    private final byte[] recordBytes;
    private final byte[] sourceSignature; // null = absent
    private final byte[] destinationSignature; // null = absent

    private SignedRecord(AttestationRecord record, byte[] recordBytes, byte[] sourceSignature,
            byte[] destinationSignature) {
        this.record = record;
        this.recordBytes = recordBytes;
        this.sourceSignature = sourceSignature;
        this.destinationSignature = destinationSignature;
    }

    /** A record with no signature yet. */
    public static SignedRecord unsigned(AttestationRecord record) {
        return new SignedRecord(record, record.toCanonicalBytes(), null, null);
    }

    /** Adds this hypervisor's signature for {@code side} (asking its AK through the signer). */
    public SignedRecord sign(Side side, AttestationSigner ak) throws ProtocolException {
        return withSignature(side, ak.sign(record.signedMessage(side)));
    }

    /** Adds a signature made elsewhere (the peer's, received over the channel). */
    public SignedRecord withSignature(Side side, byte[] signature) {
        Objects.requireNonNull(signature, "signature");
        if (signature.length != SIGNATURE_BYTES) {
            throw new IllegalArgumentException("Ed25519 signatures are 64 bytes, got " + signature.length);
        }
        return side == Side.SOURCE
                ? new SignedRecord(record, recordBytes, signature.clone(), destinationSignature)
                : new SignedRecord(record, recordBytes, sourceSignature, signature.clone());
    }

    public AttestationRecord record() {
        return record;
    }

    public Optional<byte[]> signature(Side side) {
        byte[] s = side == Side.SOURCE ? sourceSignature : destinationSignature;
        return s == null ? Optional.empty() : Optional.of(s.clone());
    }

    public boolean hasSignature(Side side) {
        return (side == Side.SOURCE ? sourceSignature : destinationSignature) != null;
    }

    /** True iff the record carries the signature for {@code side} and it verifies with {@code akKey}. */
    public boolean verifies(Side side, java.security.PublicKey akKey) {
        byte[] s = side == Side.SOURCE ? sourceSignature : destinationSignature;
        return s != null && AttestationSigner.verify(akKey, record.signedMessage(side), s);
    }

    public byte[] encoded() {
        int flags = (sourceSignature != null ? 1 : 0) | (destinationSignature != null ? 2 : 0);
        CanonicalWriter w = new CanonicalWriter().blob(recordBytes).u8(flags);
        if (sourceSignature != null) {
            w.fixed(sourceSignature, SIGNATURE_BYTES);
        }
        if (destinationSignature != null) {
            w.fixed(destinationSignature, SIGNATURE_BYTES);
        }
        return w.toByteArray();
    }

    /** Parses untrusted bytes (MALFORMED on any format error; at least one signature required). Fuzz entry point. */
    public static SignedRecord parse(byte[] bytes) throws ProtocolException {
        if (bytes.length > MAX_ENCODED_BYTES) {
            throw new ProtocolException(Reason.MALFORMED, "signed record is " + bytes.length + " bytes, limit "
                    + MAX_ENCODED_BYTES);
        }
        CanonicalReader r = new CanonicalReader(bytes, "signed record");
        byte[] recordBytes = r.blob(MAX_RECORD_BYTES, "record");
        int flags = r.u8("signature flags");
        if ((flags & ~3) != 0) {
            throw r.malformed("signature flags " + flags + " has reserved bits set");
        }
        if (flags == 0) {
            throw r.malformed("the record carries no signature");
        }
        byte[] src = (flags & 1) != 0 ? r.fixed(SIGNATURE_BYTES, "source signature") : null;
        byte[] dst = (flags & 2) != 0 ? r.fixed(SIGNATURE_BYTES, "destination signature") : null;
        r.expectEnd();
        AttestationRecord record = AttestationRecord.fromCanonicalBytes(recordBytes);
        if (!Arrays.equals(record.toCanonicalBytes(), recordBytes)) {
            throw new ProtocolException(Reason.MALFORMED, "attestation record bytes are not in canonical form");
        }
        return new SignedRecord(record, recordBytes, src, dst);
    }

    /** JSON for people: the record, its hash and which signatures it carries. */
    public String toJson() {
        Json j = new Json().beginObject().field("recordHash", Hex.encode(record.hash()));
        j.name("record");
        record.writeJson(j);
        j.name("signatures").beginObject()
                .field("source", sourceSignature == null ? null : Hex.encode(sourceSignature))
                .field("destination", destinationSignature == null ? null : Hex.encode(destinationSignature))
                .endObject();
        return j.endObject().toString();
    }

    public String toPem() {
        return Pem.encode(PEM_TYPE, encoded());
    }

    public static SignedRecord fromPem(String text) throws ProtocolException {
        try {
            for (Pem.Block b : Pem.decode(text)) {
                if (PEM_TYPE.equals(b.type())) {
                    return parse(b.content());
                }
            }
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "record file: " + e.getMessage(), e);
        }
        throw new ProtocolException(Reason.MALFORMED, "no \"" + PEM_TYPE + "\" PEM block found");
    }

    /** Exports the record as a PEM file (a human can read the JSON view next to it with {@link #toJson()}). */
    public void save(Path file) throws IOException {
        Pem.write(file, List.of(new Pem.Block(PEM_TYPE, encoded())));
    }

    public static SignedRecord load(Path file) throws IOException, ProtocolException {
        return fromPem(Files.readString(file, StandardCharsets.US_ASCII));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignedRecord s && Arrays.equals(encoded(), s.encoded());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encoded());
    }

    @Override
    public String toString() {
        return record.toString();
    }
}
