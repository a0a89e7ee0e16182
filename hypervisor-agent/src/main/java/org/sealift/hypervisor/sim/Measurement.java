package org.sealift.hypervisor.sim;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.sealift.protocol.ProtocolException;

/**
 * The hypervisor's measurement: SHA-256 over its build (the class files of this package and of the protocol library
 * it runs, in name order), the protection module version and the security-relevant configuration. Any change of
 * code or of a security switch (diagnostics) gives another measurement, which a policy then has to allow.
 */
final class Measurement {

    static final String PROTECTION_MODULE_VERSION = "sealift-sim-overshadow/1";

    private Measurement() {
    }

    static byte[] compute(boolean diagnostics) throws IOException {
        MessageDigest md = sha256();
        md.update("SEALIFT/SIM-HYPERVISOR-MEASUREMENT/1\0".getBytes(StandardCharsets.US_ASCII));
        md.update(buildDigest(Measurement.class, "org/sealift/hypervisor/sim/"));
        md.update(buildDigest(ProtocolException.class, "org/sealift/protocol/"));
        md.update((PROTECTION_MODULE_VERSION + "\0").getBytes(StandardCharsets.US_ASCII));
        md.update(("diagnostics=" + diagnostics + "\0").getBytes(StandardCharsets.US_ASCII));
        return md.digest();
    }

    /** SHA-256 over (name, SHA-256(content)) of every .class under {@code prefix} where {@code anchor} was loaded from. */
    static byte[] buildDigest(Class<?> anchor, String prefix) throws IOException {
        Path source;
        try {
            source = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            throw new IOException("cannot locate the build of " + anchor.getName() + " to measure it", e);
        }
        TreeMap<String, byte[]> files = new TreeMap<>();
        if (Files.isDirectory(source)) {
            Path root = source.resolve(prefix);
            List<Path> classes = new ArrayList<>();
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(p -> p.toString().endsWith(".class")).forEach(classes::add);
            }
            for (Path p : classes) {
                files.put(source.relativize(p).toString().replace('\\', '/'), sha256().digest(Files.readAllBytes(p)));
            }
        } else {
            try (JarFile jar = new JarFile(source.toFile())) {
                for (JarEntry e : java.util.Collections.list(jar.entries())) {
                    if (e.getName().startsWith(prefix) && e.getName().endsWith(".class")) {
                        try (InputStream in = jar.getInputStream(e)) {
                            files.put(e.getName(), sha256().digest(in.readAllBytes()));
                        }
                    }
                }
            }
        }
        if (files.isEmpty()) {
            throw new IOException("no class files under " + prefix + " in " + source + ": cannot measure the build");
        }
        MessageDigest md = sha256();
        files.forEach((name, digest) -> {
            md.update(name.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(digest);
        });
        return md.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
