package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.Pem;
import org.sealift.protocol.pki.VendorRoot;

/**
 * The simulated host hardware and firmware, in a directory only the hypervisor process uses (mode 0700): the
 * endorsement key (as a TPM's EK, created at "manufacturing" and certified by a vendor root that lives elsewhere), the
 * attestation key (generated here, never exported), the key that seals the decision state, and two TPM-NV-like values
 * dom0 cannot roll back: the monotonic counter and the highest policy serial. The pinned cluster trust and the AK
 * certificate chain live here too, so dom0 cannot swap the CA a hypervisor believes in.
 */
final class Hardware implements AutoCloseable {

    static final String AK_KEY = "ak.key";
    static final String AK_CHAIN = "ak-chain.crt";
    static final String STATE_KEY = "state.key";
    static final String NV_COUNTER = "nv-counter";
    static final String NV_POLICY_SERIAL = "nv-policy-serial";
    static final String TRUST = "cluster-trust.pem";
    private static final String LOCK = ".lock";

    private final Path dir;
    private final String hostId;
    private final EndorsementKey ek;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private KeyPair ak;
    private SecretKey stateKey;

    private Hardware(Path dir, String hostId, EndorsementKey ek, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.hostId = hostId;
        this.ek = ek;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens the hardware directory, taking an exclusive lock (one hypervisor per host). Without an EK yet, the host
     * is "manufactured": the vendor root in {@code vendorDir} (created there if absent) certifies a fresh EK.
     */
    static Hardware open(Path dir, String hostId, Optional<Path> vendorDir) throws IOException {
        Files.createDirectories(dir);
        restrict(dir, "rwx------");
        FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            l = null; // this very process holds it already
        }
        if (l == null) {
            ch.close();
            throw new IOException("another hypervisor already runs on " + dir
                    + ": attach to it through its socket instead of starting a second one");
        }
        try {
            EndorsementKey ek;
            if (Files.exists(dir.resolve(EndorsementKey.KEY_FILE))) {
                ek = EndorsementKey.load(dir);
                if (!hostId.equals(ek.hostId())) {
                    throw new IOException("the hardware in " + dir + " belongs to host " + ek.hostId() + ", not "
                            + hostId + ": use that host id or another --state-dir");
                }
            } else {
                if (vendorDir.isEmpty()) {
                    throw new IOException("host " + hostId + " has no endorsement key in " + dir
                            + " yet: start the hypervisor once with --vendor-dir DIR to manufacture it");
                }
                ek = manufacture(hostId, vendorDir.get());
                ek.save(dir);
            }
            return new Hardware(dir, hostId, ek, ch, l);
        } catch (IOException | RuntimeException e) {
            l.release();
            ch.close();
            throw e;
        }
    }

    /** The vendor's factory: its root key is read only here, never by the running hypervisor or by dom0. */
    private static EndorsementKey manufacture(String hostId, Path vendorDir) throws IOException {
        VendorRoot root;
        if (Files.exists(vendorDir.resolve(VendorRoot.KEY_FILE))) {
            root = VendorRoot.load(vendorDir);
        } else {
            Files.createDirectories(vendorDir);
            restrict(vendorDir, "rwx------");
            root = VendorRoot.create("Sealift Simulated Hardware Vendor", Instant.now(), Duration.ofDays(3650));
            root.save(vendorDir);
        }
        return root.manufacture(hostId, Instant.now().minusSeconds(60), Duration.ofDays(3650));
    }

    private static void restrict(Path p, String perms) throws IOException {
        if (p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        }
    }

    String hostId() {
        return hostId;
    }

    EndorsementKey endorsementKey() {
        return ek;
    }

    /** The attestation key, generated on first use; the private half never leaves this process. */
    synchronized AttestationSigner attestationKey() throws IOException {
        if (ak == null) {
            Path f = dir.resolve(AK_KEY);
            if (Files.exists(f)) {
                PrivateKey priv = Pem.readPrivateKey(f);
                ak = new KeyPair(Ed25519Keys.publicOf(priv), priv);
            } else {
                try {
                    ak = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("Ed25519 is missing from this JDK", e);
                }
                Pem.writePrivateKey(f, ak.getPrivate());
            }
        }
        return AttestationSigner.of(ak);
    }

    synchronized PublicKey attestationPublicKey() throws IOException {
        return attestationKey().publicKey();
    }

    /** AES-256 key sealing the decision state: created once, like a TPM storage key. */
    synchronized SecretKey stateKey() throws IOException {
        if (stateKey == null) {
            Path f = dir.resolve(STATE_KEY);
            byte[] k;
            if (Files.exists(f)) {
                k = Files.readAllBytes(f);
                if (k.length != 32) {
                    throw new IOException(f + " is damaged (" + k.length + " bytes, expected 32)");
                }
            } else {
                k = new byte[32];
                new SecureRandom().nextBytes(k);
                writeAtomically(f, k);
            }
            stateKey = new SecretKeySpec(k, "AES");
        }
        return stateKey;
    }

    /** The monotonic counter (TPM NV counter): only ever incremented. */
    synchronized long counter() throws IOException {
        return readLong(NV_COUNTER, 0);
    }

    /**
     * The counter is a fixed-width value overwritten in place with one data sync (a TPM NV write): the 21 octets lie
     * in one disk sector, which a crash leaves old or new. A counter file of another width is replaced atomically.
     */
    synchronized long incrementCounter() throws IOException {
        long next = counter() + 1;
        byte[] value = String.format("%020d\n", next).getBytes(StandardCharsets.US_ASCII);
        Path f = dir.resolve(NV_COUNTER);
        if (Files.exists(f) && Files.size(f) == value.length) {
            writeInPlace(f, 0, value, 0, value.length);
        } else {
            writeAtomically(f, value);
        }
        return next;
    }

    synchronized long policySerial() throws IOException {
        return readLong(NV_POLICY_SERIAL, 0);
    }

    synchronized void raisePolicySerial(long serial) throws IOException {
        if (Long.compareUnsigned(serial, policySerial()) > 0) {
            writeLong(NV_POLICY_SERIAL, serial);
        }
    }

    synchronized Optional<ClusterTrust> trust() throws IOException {
        Path f = dir.resolve(TRUST);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(ClusterTrust.load(f));
        } catch (ProtocolException e) {
            throw new IOException(f + " is damaged: " + e.getMessage(), e);
        }
    }

    synchronized void pinTrust(ClusterTrust trust) throws IOException {
        trust.save(dir.resolve(TRUST));
    }

    synchronized List<X509Certificate> attestationChain() throws IOException {
        Path f = dir.resolve(AK_CHAIN);
        return Files.exists(f) ? Certificates.read(f) : List.of();
    }

    synchronized void setAttestationChain(List<X509Certificate> chain) throws IOException {
        Certificates.write(dir.resolve(AK_CHAIN), chain);
    }

    private long readLong(String name, long absent) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.exists(f)) {
            return absent;
        }
        String s = Files.readString(f, StandardCharsets.US_ASCII).trim();
        try {
            return Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            throw new IOException(f + " is damaged (\"" + s + "\")", e);
        }
    }

    private void writeLong(String name, long v) throws IOException {
        writeAtomically(dir.resolve(name), (Long.toUnsignedString(v) + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Overwrites {@code length} octets of an existing file at {@code position} and syncs its data (fdatasync): no
     * metadata changes, so no journal commit. Callers make a torn write harmless (two copies, or one sector).
     */
    static void writeInPlace(Path file, long position, byte[] content, int offset, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(content, offset, length);
            long at = position;
            while (b.hasRemaining()) {
                at += ch.write(b, at);
            }
            ch.force(false);
        }
    }

    /** tmp + fsync + rename: a crash leaves the old or the new value, never a torn one. */
    static void writeAtomically(Path file, byte[] content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // closing on shutdown; the OS drops the lock with the process anyway
        }
    }
}
