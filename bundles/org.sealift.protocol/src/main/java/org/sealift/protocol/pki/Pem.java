package org.sealift.protocol.pki;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PEM files for certificates, keys and Sealift's own signed objects (policies, fences, records). Private keys are
 * written owner-only (rw-------) from the moment the file exists, and a private key file that group or others can
 * read is refused on load, as ssh does, because dom0 tooling must not leave CA keys world-readable.
 */
public final class Pem {

    private static final Logger LOG = LoggerFactory.getLogger(Pem.class);

    public static final String CERTIFICATE = "CERTIFICATE";
    public static final String PRIVATE_KEY = "PRIVATE KEY";
    public static final String CERTIFICATE_REQUEST = "CERTIFICATE REQUEST";

    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);

    private Pem() {
    }

    /** One PEM block. */
    public record Block(String type, byte[] content) {
    }

    public static String encode(String type, byte[] content) {
        return encode(List.of(new Block(type, content)));
    }

    public static String encode(List<Block> blocks) {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            for (Block b : blocks) {
                w.writeObject(new PemObject(b.type(), b.content()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return sw.toString();
    }

    /** All blocks in the text, in order; text outside blocks (comments) is ignored. */
    public static List<Block> decode(String text) throws IOException {
        List<Block> out = new ArrayList<>();
        try (PemReader r = new PemReader(new StringReader(text))) {
            PemObject o;
            while ((o = r.readPemObject()) != null) {
                out.add(new Block(o.getType(), o.getContent()));
            }
        } catch (RuntimeException e) {
            // BC reports bad base64 as an unchecked exception
            throw new IOException("PEM text is malformed: " + e.getMessage(), e);
        }
        return out;
    }

    public static List<Block> read(Path file) throws IOException {
        return decode(Files.readString(file, StandardCharsets.US_ASCII));
    }

    /** Writes public material (certificates, policies, fences): replaced atomically, default permissions. */
    public static void write(Path file, List<Block> blocks) throws IOException {
        writeAtomically(file, encode(blocks), false);
    }

    /** Writes a private key as PKCS#8 "PRIVATE KEY", owner-only from creation on. */
    public static void writePrivateKey(Path file, PrivateKey key) throws IOException {
        writeAtomically(file, encode(PRIVATE_KEY, key.getEncoded()), true);
    }

    /**
     * Reads a PKCS#8 private key (Ed25519, X25519, EC or RSA), refusing a file that group or others can access.
     */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        if (isPosix(file)) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(perms)) {
                throw new IOException("private key " + file + " is accessible to others ("
                        + PosixFilePermissions.toString(perms) + "); run chmod 600 " + file);
            }
        }
        List<Block> blocks = read(file);
        if (blocks.size() != 1 || !PRIVATE_KEY.equals(blocks.get(0).type())) {
            throw new IOException(file + " does not hold exactly one \"" + PRIVATE_KEY + "\" PEM block");
        }
        return privateKey(blocks.get(0).content(), file.toString());
    }

    static PrivateKey privateKey(byte[] pkcs8, String source) throws IOException {
        try {
            String oid = PrivateKeyInfo.getInstance(pkcs8).getPrivateKeyAlgorithm().getAlgorithm().getId();
            String alg = switch (oid) {
                case "1.3.101.112" -> "Ed25519";
                case "1.3.101.110" -> "X25519";
                case "1.2.840.10045.2.1" -> "EC";
                case "1.2.840.113549.1.1.1" -> "RSA";
                default -> throw new IOException(source + ": unsupported private key algorithm " + oid);
            };
            return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException(source + " is not a valid PKCS#8 private key: " + e.getMessage(), e);
        }
    }

    private static boolean isPosix(Path file) {
        return file.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static void writeAtomically(Path file, String text, boolean ownerOnly) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp;
        if (ownerOnly && isPosix(dir)) {
            // created rw------- so the key is never readable by others, not even between create and chmod
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            if (ownerOnly) {
                LOG.warn("{} is on a file system without POSIX permissions; restrict access to it by hand", file);
            }
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        }
        try {
            Files.writeString(tmp, text, StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
