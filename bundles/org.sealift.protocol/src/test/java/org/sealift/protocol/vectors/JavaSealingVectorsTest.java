package org.sealift.protocol.vectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.control.ControlReceiver;
import org.sealift.protocol.control.ControlSender;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.ProtectedPageStore;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.seal.Sealer;
import org.sealift.protocol.vectors.VectorFile.Line;
import org.sealift.protocol.vectors.VectorFile.Section;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/**
 * Writes the sealing vectors of the Java implementation (Sealer, Manifest, ControlSender) that the C protection
 * module must reproduce byte for byte (native/xen-protection/tests/test_vectors.c). The file is generated anew on
 * every run into {@code <build dir>/vectors/java-sealing.vec}; the C tests read the checked-in copy
 * {@code src/test/resources/vectors/java-sealing.vec}, so this test fails while that copy differs from what the Java
 * code produces now.
 *
 * <p>Two kinds of sections: {@code seal} (one sealing with all its inputs, the spec's nonce and AAD, the SEALED body
 * and tag) and {@code scenario} (a protected VM, two pre-copy rounds and the final phase, with the exact export blobs
 * and the MANIFEST the C store must produce from the same steps).
 */
class JavaSealingVectorsTest {

    static final String FILE = "java-sealing.vec";

    // ---- generation --------------------------------------------------------------------------------------------

    /** Deterministic bytes: SHA-256(label ‖ block index u32) blocks, so inputs look random but never change. */
    static byte[] derived(String label, int length) {
        byte[] out = new byte[length];
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int block = 0; block * 32 < length; block++) {
                sha.update(label.getBytes(StandardCharsets.US_ASCII));
                sha.update(ByteBuffer.allocate(4).putInt(block).array());
                byte[] h = sha.digest();
                System.arraycopy(h, 0, out, block * 32, Math.min(32, length - block * 32));
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    static UUID uuid(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        return new UUID(bb.getLong(), bb.getLong());
    }

    static byte[] uuidBytes(UUID u) {
        return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits())
                .array();
    }

    /** The spec's nonce (docs/protocol.md §4.2.1), laid out here by hand rather than taken from the sealer. */
    static byte[] specNonce(int kind, long counter) {
        return ByteBuffer.allocate(12).putInt(kind == 1 ? 0x50414745 : 0x56435055).putLong(counter).array();
    }

    static byte[] specAad(int kind, byte[] mid, byte[] vm, int pid, long target, long version) {
        return ByteBuffer.allocate(53).put((byte) kind).put(mid).put(vm).putInt(pid).putLong(target).putLong(version)
                .array();
    }

    /** A sealer whose counter starts at {@code first}: the package-private constructor meant for such tests. */
    static Sealer sealerAt(SecretKey key, MigrationId mid, UUID vm, long first) throws Exception {
        Constructor<Sealer> c = Sealer.class.getDeclaredConstructor(SecretKey.class, MigrationId.class, UUID.class,
                long.class);
        c.setAccessible(true);
        return c.newInstance(key, mid, vm, first);
    }

    private static void sealSection(VectorFile.Writer w, String name, byte[] key, MigrationId mid, UUID vm,
            SealedBlob blob, byte[] plaintext) {
        int kind = blob.kind().wire();
        w.section("seal", name)
                .field("kind", VectorFile.u8(kind))
                .field("key", VectorFile.hex(key))
                .field("migration", VectorFile.hex(mid.bytes()))
                .field("vm", VectorFile.hex(uuidBytes(vm)))
                .field("process", VectorFile.u32(blob.processId()))
                .field("counter", VectorFile.u64(blob.counter()))
                .field("target", VectorFile.u64(blob.target()))
                .field("version", VectorFile.u64(blob.version()))
                .field("plaintext", VectorFile.hex(plaintext))
                .field("nonce", VectorFile.hex(specNonce(kind, blob.counter())))
                .field("aad", VectorFile.hex(specAad(kind, mid.bytes(), uuidBytes(vm), blob.processId(),
                        blob.target(), blob.version())))
                .field("body", VectorFile.hex(blob.body()))
                .field("tag", VectorFile.hex(blob.tag()))
                .end();
    }

    record Page(int pid, long pfn, long firstVersion) {
    }

    record Context(int pid, int vcpu, long version, int length) {
    }

    /** The whole vector file, from the Java implementation as it is now. */
    static String generate() throws Exception {
        VectorFile.Writer w = new VectorFile.Writer();
        w.comment("Sealift SMP1 sealing vectors, written by the Java implementation (Sealer, Manifest, ControlSender)\n"
                + "in org.sealift.protocol.vectors.JavaSealingVectorsTest; read by native/xen-protection/tests/"
                + "test_vectors.c.\nDo not edit: run that test; it writes the fresh file to <build dir>/vectors/ and "
                + "fails while\nthis checked-in copy differs. Format: VectorFile.java.");
        w.format();

        // the known answer of SealingKnownAnswerTest (confirmed there with Python 'cryptography' and BouncyCastle)
        byte[] katKey = new byte[32];
        for (int i = 0; i < 32; i++) {
            katKey[i] = (byte) i;
        }
        MigrationId katMid = MigrationId.of(hexBytes("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
        UUID katVm = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
        byte[] katPage = new byte[4096];
        for (int i = 0; i < katPage.length; i++) {
            katPage[i] = (byte) (i % 251);
        }
        Sealer kat = new Sealer(new SecretKeySpec(katKey, "AES"), katMid, katVm);
        sealSection(w, "kat-page", katKey, katMid, katVm, kat.sealPage(7, 0x12345, 3, katPage, 0), katPage);
        byte[] katContext = new byte[64];
        Arrays.fill(katContext, (byte) 0x5a);
        sealSection(w, "kat-vcpu", katKey, katMid, katVm, kat.sealVcpu(7, 2, 9, katContext), katContext);

        // every field at the top of its range: catches truncated, sign-extended or little-endian encodings
        byte[] hiKey = derived("seal/high/key", 32);
        MigrationId hiMid = MigrationId.of(derived("seal/high/migration", 16));
        UUID hiVm = uuid(derived("seal/high/vm", 16));
        Sealer hi = sealerAt(new SecretKeySpec(hiKey, "AES"), hiMid, hiVm, 0x0123456789abcdefL);
        byte[] hiPage = derived("seal/high/page", 4096);
        sealSection(w, "high-page", hiKey, hiMid, hiVm,
                hi.sealPage(0xfffffffe, (1L << 52) - 1, 0xfedcba9876543210L, hiPage, 0), hiPage);
        byte[] hiContext = derived("seal/high/context", 8);
        sealSection(w, "high-vcpu", hiKey, hiMid, hiVm,
                hi.sealVcpu(0x80000000, 0xffffffff, 0x8000000000000001L, hiContext), hiContext);

        scenario(w);
        return w.toString();
    }

    private static byte[] hexBytes(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }

    /**
     * A VM with three protected processes (one without pages), five protected pages, two of them written after the
     * first round, and three saved contexts. The order is the C store's: pages by ascending pfn, contexts by
     * ascending (process id, vCPU id), then the MANIFEST as the first source control record.
     */
    private static void scenario(VectorFile.Writer w) throws Exception {
        byte[] sealKey = derived("scenario/seal-key", 32);
        byte[] controlKey = derived("scenario/control-key", 32);
        MigrationId mid = MigrationId.of(derived("scenario/migration", 16));
        UUID vm = uuid(derived("scenario/vm", 16));
        int[] pids = {3, 7, 0x80000001};
        List<Page> pages = List.of(new Page(7, 0x10, 1), new Page(7, 0x11, 1), new Page(0x80000001, 0x12, 5),
                new Page(0x80000001, 0x20, 1), new Page(7, (1L << 52) - 1, 1));
        long[] written = {0x11, 0x20};
        List<Context> contexts = List.of(new Context(7, 0, 1, 64), new Context(7, 3, 2, 32),
                new Context(0x80000001, 1, 1, 128));

        w.section("scenario", "two-rounds")
                .field("seal_key", VectorFile.hex(sealKey))
                .field("control_key", VectorFile.hex(controlKey))
                .field("migration", VectorFile.hex(mid.bytes()))
                .field("vm", VectorFile.hex(uuidBytes(vm)));
        Map<Integer, byte[]> keys = new LinkedHashMap<>();
        for (int pid : pids) {
            byte[] key = derived("scenario/process-key/" + Integer.toUnsignedString(pid), 32);
            keys.put(pid, key);
            w.field("process", VectorFile.u32(pid), VectorFile.hex(key));
        }
        Map<Long, byte[]> contents = new LinkedHashMap<>();
        Map<Long, Long> versions = new LinkedHashMap<>();
        for (Page p : pages) {
            byte[] content = derived("scenario/page/" + p.pfn + "/v" + p.firstVersion, 4096);
            contents.put(p.pfn, content);
            versions.put(p.pfn, p.firstVersion);
            w.field("protect", VectorFile.u32(p.pid), VectorFile.u64(p.pfn), VectorFile.u64(p.firstVersion),
                    VectorFile.hex(content));
        }
        for (Context c : contexts) {
            w.field("context", VectorFile.u32(c.pid), VectorFile.u32(c.vcpu), VectorFile.u64(c.version),
                    VectorFile.hex(derived("scenario/context/" + c.pid + "/" + c.vcpu, c.length)));
        }

        Sealer sealer = new Sealer(new SecretKeySpec(sealKey, "AES"), mid, vm);
        ByteArrayOutputStream round1 = new ByteArrayOutputStream();
        for (Page p : pages.stream().sorted((a, b) -> Long.compare(a.pfn, b.pfn)).toList()) {
            round1.write(RecordEncoder.encode(
                    sealer.sealPage(p.pid, p.pfn, p.firstVersion, contents.get(p.pfn), 0).toRecord(0)));
        }
        w.field("export", VectorFile.hex(round1.toByteArray()));

        ByteArrayOutputStream round2 = new ByteArrayOutputStream();
        for (long pfn : written) {
            byte[] content = derived("scenario/page/" + pfn + "/written", 4096);
            w.field("write", VectorFile.u64(pfn), VectorFile.hex(content));
            contents.put(pfn, content);
            versions.put(pfn, versions.get(pfn) + 1); // one new version per sealing of changed contents
        }
        for (long pfn : written) {
            int pid = pages.stream().filter(p -> p.pfn == pfn).findFirst().orElseThrow().pid;
            round2.write(RecordEncoder.encode(
                    sealer.sealPage(pid, pfn, versions.get(pfn), contents.get(pfn), 0).toRecord(0)));
        }
        w.field("export", VectorFile.hex(round2.toByteArray()));

        w.field("pause");
        ByteArrayOutputStream last = new ByteArrayOutputStream();
        for (Context c : contexts) {
            last.write(RecordEncoder.encode(sealer.sealVcpu(c.pid, c.vcpu, c.version,
                    derived("scenario/context/" + c.pid + "/" + c.vcpu, c.length)).toRecord(0)));
        }
        Manifest manifest = sealer.buildManifest(keys);
        WireRecord manifestRecord = new ControlSender(new SecretKeySpec(controlKey, "AES"), Role.SOURCE, mid)
                .seal(RecordType.MANIFEST, manifest.encode());
        last.write(RecordEncoder.encode(manifestRecord));
        w.field("export", VectorFile.hex(last.toByteArray()));
        w.field("manifest", VectorFile.hex(manifest.encode()));
        w.field("digest", VectorFile.hex(manifest.digest()));
        w.end();
    }

    // ---- file handling -----------------------------------------------------------------------------------------

    /** {@code <module>/<sealift.out>}: the parent of the test-classes directory this class was loaded from. */
    static Path buildDirectory() throws URISyntaxException {
        return Path.of(JavaSealingVectorsTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .getParent();
    }

    static String resource(String name) throws IOException {
        try (InputStream in = JavaSealingVectorsTest.class.getResourceAsStream("/vectors/" + name)) {
            if (in == null) {
                return null;
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    // ---- tests -------------------------------------------------------------------------------------------------

    @Test
    void checkedInVectorsAreWhatTheJavaImplementationProducesNow() throws Exception {
        String fresh = generate();
        Path out = buildDirectory().resolve("vectors").resolve(FILE);
        Files.createDirectories(out.getParent());
        Files.writeString(out, fresh, StandardCharsets.US_ASCII);
        assertEquals(fresh, generate(), "vector generation must be deterministic");

        String checkedIn = resource(FILE);
        if (checkedIn == null) {
            fail("src/test/resources/vectors/" + FILE + " is missing; the C module's tests read it. Copy the fresh "
                    + "file: cp " + out + " src/test/resources/vectors/");
        }
        if (!checkedIn.equals(fresh)) {
            fail("src/test/resources/vectors/" + FILE + " is stale: the Java implementation now seals differently "
                    + "(first difference at line " + firstDifferentLine(checkedIn, fresh) + "). If the change is "
                    + "intended (a protocol change), copy the fresh file (cp " + out + " src/test/resources/vectors/) "
                    + "and make the C module match: make -C native/xen-protection test");
        }
    }

    static int firstDifferentLine(String a, String b) {
        String[] x = a.split("\n", -1);
        String[] y = b.split("\n", -1);
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            if (!x[i].equals(y[i])) {
                return i + 1;
            }
        }
        return Math.min(x.length, y.length) + 1;
    }

    /** The nonce and AAD in each vector, laid out from the spec, reproduce its body through plain JDK AES-GCM. */
    @Test
    void sealVectorsFollowFromTheirSpecNonceAndAad() throws Exception {
        List<Section> seals = VectorFile.parse(generate()).stream().filter(s -> s.kind().equals("seal")).toList();
        assertEquals(4, seals.size());
        for (Section s : seals) {
            byte[] body = s.first("body").bytes(0);
            byte[] plaintext = s.first("plaintext").bytes(0);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(s.first("key").bytes(0), "AES"),
                    new GCMParameterSpec(128, s.first("nonce").bytes(0)));
            c.updateAAD(s.first("aad").bytes(0));
            assertArrayEquals(c.doFinal(plaintext), Arrays.copyOfRange(body, 32, body.length), s.name());
            ByteBuffer h = ByteBuffer.wrap(body);
            assertEquals(s.first("kind").u32(0), h.get() & 0xff, s.name());
            assertEquals(0, h.get() | h.getShort(), s.name() + " reserved");
            assertEquals(s.first("process").u32(0), h.getInt(), s.name());
            assertEquals(s.first("counter").u64(0), h.getLong(), s.name());
            assertEquals(s.first("target").u64(0), h.getLong(), s.name());
            assertEquals(s.first("version").u64(0), h.getLong(), s.name());
            assertArrayEquals(s.first("tag").bytes(0), Arrays.copyOfRange(body, body.length - 16, body.length));
        }
        // the known answer recorded in SealingKnownAnswerTest
        assertEquals("9de2e2d8db7b06d9ccd44c8d887a007b", VectorFile.hex(seals.get(0).first("tag").bytes(0)));
    }

    /** The scenario's blobs are a valid migration for the Java destination: they open, verify and hold the pages. */
    @Test
    void scenarioExportsOpenAndVerifyAtTheJavaDestination() throws Exception {
        Section s = VectorFile.parse(generate()).stream().filter(x -> x.kind().equals("scenario")).findFirst()
                .orElseThrow();
        MigrationId mid = MigrationId.of(s.first("migration").bytes(0));
        UUID vm = uuid(s.first("vm").bytes(0));
        ProtectedPageStore store = new ProtectedPageStore(
                new Opener(new SecretKeySpec(s.first("seal_key").bytes(0), "AES"), mid, vm));
        ControlReceiver control = new ControlReceiver(new SecretKeySpec(s.first("control_key").bytes(0), "AES"),
                Role.SOURCE, mid);
        Manifest manifest = null;
        for (Line export : s.all("export")) {
            for (WireRecord r : records(export.bytes(0))) {
                if (r.type() == RecordType.SEALED) {
                    store.accept(SealedBlob.decode(r));
                } else {
                    manifest = Manifest.decode(control.open(r));
                }
            }
        }
        assertNotNull(manifest);
        store.verify(manifest);
        assertArrayEquals(s.first("digest").bytes(0), manifest.digest());
        assertEquals(5, store.pageCount());
        assertEquals(3, store.contextCount());
        for (Line write : s.all("write")) {
            assertArrayEquals(write.bytes(1), store.page(write.u64(0)), "the written contents arrived");
        }
    }

    /** Splits a blob of framed records (no stream header). */
    static List<WireRecord> records(byte[] blob) throws Exception {
        RecordDecoder d = RecordDecoder.recordsOnly();
        d.feed(blob, 0, blob.length);
        List<WireRecord> out = new ArrayList<>();
        for (WireRecord r = d.next(); r != null; r = d.next()) {
            out.add(r);
        }
        return out;
    }
}
