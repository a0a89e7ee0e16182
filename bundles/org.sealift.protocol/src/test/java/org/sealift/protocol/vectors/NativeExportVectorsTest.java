package org.sealift.protocol.vectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.ControlReceiver;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.ProtectedPageStore;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.vectors.VectorFile.Line;
import org.sealift.protocol.vectors.VectorFile.Section;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/**
 * C → Java: opens what the C protection module (native/xen-protection) exported through its protmeta domctl in a
 * seeded run, with the Java destination (Opener, ControlReceiver, Manifest, ProtectedPageStore). The vectors are the
 * checked-in {@code src/test/resources/vectors/c-export.vec}; native/xen-protection/tests/test_c_export.c fails while
 * that copy differs from what the C code produces now.
 */
class NativeExportVectorsTest {

    static final String FILE = "c-export.vec";

    /** The seeded run: its session and its three EXPORT blobs (round 1, round 2, final). */
    record Run(Section section, MigrationId migration, UUID vm, byte[] sealKey, byte[] controlKey, List<byte[]> blobs) {

        static Run load() throws Exception {
            String text = JavaSealingVectorsTest.resource(FILE);
            assertNotNull(text, "src/test/resources/vectors/" + FILE + " is missing: make -C native/xen-protection "
                    + "test writes build/" + FILE + "; copy it there");
            List<Section> sections = VectorFile.parse(text);
            assertEquals(1, sections.size());
            Section s = sections.get(0);
            List<byte[]> blobs = new ArrayList<>();
            for (Line l : s.all("blob")) {
                blobs.add(l.bytes(0));
            }
            assertEquals(3, blobs.size(), "two pre-copy rounds and the final blob");
            return new Run(s, MigrationId.of(s.first("migration").bytes(0)),
                    JavaSealingVectorsTest.uuid(s.first("vm").bytes(0)), s.first("seal_key").bytes(0),
                    s.first("control_key").bytes(0), blobs);
        }

        ProtectedPageStore store() {
            return new ProtectedPageStore(new Opener(new SecretKeySpec(sealKey, "AES"), migration, vm));
        }

        ControlReceiver control() {
            return new ControlReceiver(new SecretKeySpec(controlKey, "AES"), Role.SOURCE, migration);
        }
    }

    /** Feeds {@code blobs} to a Java destination; returns the opened manifest (or null if none came). */
    static Manifest receive(Run run, ProtectedPageStore store, List<byte[]> blobs) throws Exception {
        ControlReceiver control = run.control();
        Manifest manifest = null;
        for (byte[] blob : blobs) {
            for (WireRecord r : JavaSealingVectorsTest.records(blob)) {
                if (r.type() == RecordType.SEALED) {
                    store.accept(SealedBlob.decode(r));
                } else {
                    assertEquals(RecordType.MANIFEST, r.type(), "protection metadata holds SEALED and MANIFEST only");
                    manifest = Manifest.decode(control.open(r));
                }
            }
        }
        return manifest;
    }

    static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    @Test
    void theCModulesExportOpensAndVerifiesAtTheJavaDestination() throws Exception {
        Run run = Run.load();
        ProtectedPageStore store = run.store();
        Manifest manifest = receive(run, store, run.blobs());
        assertNotNull(manifest, "the final blob carries the MANIFEST");
        manifest.checkSession(run.migration(), run.vm());
        store.verify(manifest);
        assertArrayEquals(run.section().first("digest").bytes(0), manifest.digest(), "manifest digest");
        assertEquals(0, store.replayCount());

        List<Line> pages = run.section().all("page");
        assertEquals(5, pages.size());
        assertEquals(pages.size(), store.pageCount());
        for (Line p : pages) {
            long pfn = p.u64(1);
            assertArrayEquals(p.bytes(3), sha256(store.page(pfn)), "plaintext of pfn " + pfn);
            Manifest.ProcessEntry owner = manifest.process(p.u32(0));
            int index = owner.pageIndex(pfn);
            assertEquals(p.u64(2), owner.pageVersion(index), "version of pfn " + pfn);
        }
        List<Line> contexts = run.section().all("context");
        assertEquals(3, contexts.size());
        for (Line c : contexts) {
            assertArrayEquals(c.bytes(3), sha256(store.context(c.u32(0), c.u32(1))), "context " + c.tokens());
        }
        for (Line p : run.section().all("process")) {
            assertArrayEquals(p.bytes(1), manifest.process(p.u32(0)).key(), "key of process " + p.tokens().get(0));
        }
    }

    /** Applies {@code edit} to a copy of record {@code index} of blob {@code blob} and decodes it again. */
    static WireRecord edited(Run run, int blob, int index, Consumer<byte[]> edit) throws Exception {
        WireRecord r = JavaSealingVectorsTest.records(run.blobs().get(blob)).get(index);
        byte[] body = r.body();
        edit.accept(body);
        return new WireRecord(r.type(), r.sequence(), body);
    }

    @Test
    void alteredOrReboundRecordsOfTheCModuleAreTampered() throws Exception {
        Run run = Run.load();
        Opener opener = new Opener(new SecretKeySpec(run.sealKey(), "AES"), run.migration(), run.vm());
        List<Consumer<byte[]>> attacks = List.of(
                body -> body[100] ^= 1,                      // one ciphertext bit
                body -> body[body.length - 1] ^= (byte) 0x80, // one tag bit
                body -> body[23] ^= 2,                        // another pfn
                body -> body[31] ^= 3,                        // another (older) version
                body -> body[7] ^= 1,                         // another process
                body -> body[15] ^= 1);                       // another seal counter
        assertEquals(4096, opener.open(SealedBlob.decode(edited(run, 0, 0, b -> { }))).length,
                "positive control: the unedited record opens");
        for (Consumer<byte[]> attack : attacks) {
            SealedBlob blob = SealedBlob.decode(edited(run, 0, 0, attack));
            ProtocolException e = assertThrows(ProtocolException.class, () -> opener.open(blob));
            assertEquals(Reason.TAMPERED, e.reason());
        }
        // the record of another migration: same keys and bytes, another migration id
        byte[] other = run.migration().bytes();
        other[0] ^= 1;
        Opener elsewhere = new Opener(new SecretKeySpec(run.sealKey(), "AES"), MigrationId.of(other), run.vm());
        SealedBlob genuine = SealedBlob.decode(edited(run, 0, 1, b -> { }));
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class, () -> elsewhere.open(genuine)).reason());

        // the MANIFEST: record 3 of the final blob, after the three vCPU contexts
        WireRecord manifest = edited(run, 2, 3, body -> body[60] ^= 4);
        assertEquals(RecordType.MANIFEST, manifest.type());
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class,
                () -> run.control().open(manifest)).reason());
    }

    @Test
    void roundsReorderedByDom0StillVerifyAndADroppedRoundIsStale() throws Exception {
        Run run = Run.load();
        ProtectedPageStore reordered = run.store();
        Manifest m = receive(run, reordered, List.of(run.blobs().get(1), run.blobs().get(0), run.blobs().get(2)));
        reordered.verify(m);
        assertEquals(2, reordered.replayCount(), "the two pages of round 1 that round 2 superseded");

        ProtectedPageStore dropped = run.store();
        Manifest m2 = receive(run, dropped, List.of(run.blobs().get(0), run.blobs().get(2)));
        ProtocolException e = assertThrows(ProtocolException.class, () -> dropped.verify(m2));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("stale"), e.getMessage());
    }
}
