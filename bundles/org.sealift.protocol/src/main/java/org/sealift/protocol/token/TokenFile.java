package org.sealift.protocol.token;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.Pem;

/**
 * A token as a file an operator can carry by hand (USB stick, ticket attachment, e-mail): versioned, line-oriented
 * US-ASCII text that people can read, followed by the signer's AK certificate chain in PEM so that the file verifies
 * with nothing but the cluster trust and a policy. Layout in docs/protocol-handshake.md §6:
 *
 * <pre>
 * SEALIFT-TOKEN 1
 * kind: RELEASE
 * role: source
 * migration-id: 32 hex digits
 * transcript-hash: 64 hex digits
 * manifest-digest: 64 hex digits, or "none"
 * signature: 128 hex digits
 * signer-ak: 64 hex digits (SHA-256 of the signer's AK SubjectPublicKeyInfo)
 * -----BEGIN CERTIFICATE----- ... (signer's AK certificate, then the cluster CA certificate)
 * </pre>
 *
 * Parsing is strict (exact header, fields in this order, nothing else, size limit) and the fields are re-assembled
 * into the signed bytes, so editing any of them breaks the signature. The readable fields are not trusted until
 * {@link TokenVerifier} says so.
 */
public final class TokenFile {

    public static final String MAGIC = "SEALIFT-TOKEN";
    public static final int FORMAT = 1;
    /** A token file is a few kilobytes; anything much larger is not one. */
    public static final int MAX_BYTES = 64 * 1024;
    /** Suggested file name suffix. */
    public static final String SUFFIX = ".token";

    private static final String[] FIELDS = {"kind", "role", "migration-id", "transcript-hash", "manifest-digest",
        "signature", "signer-ak"};

    private final Token token;
    private final List<X509Certificate> signerChain;

    /** @param signerChain the signer's AK certificate first, then the cluster CA certificate */
    public TokenFile(Token token, List<X509Certificate> signerChain) {
        this.token = Objects.requireNonNull(token, "token");
        this.signerChain = List.copyOf(signerChain);
        if (this.signerChain.isEmpty()) {
            throw new IllegalArgumentException("a token file carries its signer's AK certificate");
        }
    }

    public Token token() {
        return token;
    }

    public List<X509Certificate> signerChain() {
        return signerChain;
    }

    /** "0011…eeff-RELEASE.token". */
    public String suggestedFileName() {
        return token.migrationId() + "-" + token.kind() + SUFFIX;
    }

    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append(MAGIC).append(' ').append(FORMAT).append('\n');
        String[] values = values(token, Certificates.fingerprint(signerChain.get(0)));
        for (int i = 0; i < FIELDS.length; i++) {
            b.append(FIELDS[i]).append(": ").append(values[i]).append('\n');
        }
        b.append(Certificates.toPem(signerChain).replace("\r\n", "\n"));
        return b.toString();
    }

    private static String[] values(Token t, byte[] signerFingerprint) {
        return new String[] {t.kind().name(), t.role().name().toLowerCase(Locale.ROOT), t.migrationId().toString(),
            Hex.encode(t.transcriptHash()), t.hasManifest() ? Hex.encode(t.manifestDigest()) : "none",
            Hex.encode(t.signature()), Hex.encode(signerFingerprint)};
    }

    /** Parses a token file; MALFORMED naming the first problem. The result is not verified yet. */
    public static TokenFile parse(String text) throws ProtocolException {
        Objects.requireNonNull(text, "text");
        if (text.length() > MAX_BYTES) {
            throw malformed("it is " + text.length() + " characters long, limit " + MAX_BYTES);
        }
        String t = text.replace("\r\n", "\n");
        String[] lines = t.split("\n", FIELDS.length + 2);
        if (lines.length < FIELDS.length + 2) {
            throw malformed("it has fewer lines than a header, " + FIELDS.length + " fields and a certificate");
        }
        String header = lines[0];
        if (!header.startsWith(MAGIC + " ")) {
            throw malformed("it does not start with \"" + MAGIC + " " + FORMAT + "\"; is it a token file?");
        }
        if (!header.equals(MAGIC + " " + FORMAT)) {
            throw malformed("format \"" + header.substring(MAGIC.length() + 1) + "\" is not supported (this build"
                    + " reads format " + FORMAT + "); use a newer verifier");
        }
        String[] values = new String[FIELDS.length];
        for (int i = 0; i < FIELDS.length; i++) {
            String line = lines[i + 1];
            String prefix = FIELDS[i] + ": ";
            if (!line.startsWith(prefix)) {
                throw malformed("line " + (i + 2) + " must be \"" + prefix + "...\", found \"" + abbrev(line) + "\"");
            }
            values[i] = line.substring(prefix.length());
        }
        String pem = lines[FIELDS.length + 1];
        List<X509Certificate> chain = chain(pem);

        TokenKind kind;
        try {
            kind = TokenKind.valueOf(values[0]);
        } catch (IllegalArgumentException e) {
            throw malformed("unknown kind \"" + abbrev(values[0]) + "\"");
        }
        Role role = "source".equals(values[1]) ? Role.SOURCE : "destination".equals(values[1]) ? Role.DESTINATION
                : null;
        if (role == null) {
            throw malformed("role must be \"source\" or \"destination\", found \"" + abbrev(values[1]) + "\"");
        }
        byte[] id = hex(values[2], MigrationId.LENGTH, "migration-id");
        byte[] th = hex(values[3], Token.HASH_LENGTH, "transcript-hash");
        byte[] md = "none".equals(values[4]) ? new byte[Token.HASH_LENGTH]
                : hex(values[4], Token.HASH_LENGTH, "manifest-digest");
        byte[] sig = hex(values[5], Token.SIGNATURE_LENGTH, "signature");
        byte[] signer = hex(values[6], 32, "signer-ak");
        // one set of rules for both forms: assemble the binary encoding and let Token.decode judge it
        byte[] encoded = ByteBuffer.allocate(Token.ENCODED_LENGTH).put((byte) Token.FORMAT).put((byte) kind.wire())
                .put((byte) role.wire()).put(new byte[5]).put(id).put(th).put(md).put(sig).array();
        Token token = Token.decode(encoded);
        if (!MessageDigest.isEqual(signer, Certificates.fingerprint(chain.get(0)))) {
            throw malformed("signer-ak " + Hex.abbrev(signer) + " is not the key of the first certificate ("
                    + Certificates.describe(chain.get(0)) + ", " + Hex.abbrev(Certificates.fingerprint(chain.get(0)))
                    + ")");
        }
        TokenFile file = new TokenFile(token, chain);
        if (!file.toText().equals(t)) {
            // e.g. "none" spelled as 64 zeros, upper-case hex, extra text around the PEM blocks
            throw malformed("it is not in canonical form (lower-case hex, \"none\" for no manifest, nothing but"
                    + " certificates after the fields)");
        }
        return file;
    }

    private static List<X509Certificate> chain(String pem) throws ProtocolException {
        List<Pem.Block> blocks;
        try {
            blocks = Pem.decode(pem);
        } catch (IOException e) {
            throw malformed(e.getMessage());
        }
        if (blocks.isEmpty()) {
            throw malformed("it carries no signer certificate");
        }
        List<byte[]> ders = new ArrayList<>();
        for (Pem.Block b : blocks) {
            if (!Pem.CERTIFICATE.equals(b.type())) {
                throw malformed("it holds a \"" + abbrev(b.type()) + "\" block; only certificates may follow the"
                        + " fields");
            }
            ders.add(b.content());
        }
        return Certificates.parseChain(ders);
    }

    private static byte[] hex(String value, int length, String field) throws ProtocolException {
        try {
            return Hex.decode(value, length, field);
        } catch (IllegalArgumentException e) {
            throw malformed(e.getMessage());
        }
    }

    private static ProtocolException malformed(String problem) {
        return new ProtocolException(Reason.MALFORMED, "not a valid token file: " + problem);
    }

    private static String abbrev(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "\u2026";
    }

    /** Writes the file atomically (a reader never sees half a token). */
    public void save(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".token-", ".tmp");
        try {
            Files.writeString(tmp, toText(), StandardCharsets.US_ASCII);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads and parses; the size is checked before reading. */
    public static TokenFile load(Path file) throws IOException, ProtocolException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw malformed(file + " is " + size + " bytes, limit " + MAX_BYTES);
        }
        return parse(Files.readString(file, StandardCharsets.US_ASCII));
    }
}
