package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.seal.Sealer;
import org.sealift.protocol.wire.RecordType;

/**
 * The source hypervisor's sealing into shared slots and its incremental MANIFEST table, checked against the
 * protocol library: the same bytes as its Sealer, records its Opener accepts, a plaintext its Manifest decoder
 * accepts with the same digest.
 */
class SourceSealingTest {

    @TempDir
    Path dir;
    final SecureRandom random = new SecureRandom();
    final SecretKey key = new SecretKeySpec(bytes(32), "AES");
    final MigrationId mid = MigrationId.of(bytes(16));
    final UUID vm = UUID.randomUUID();
    Domain domain;
    SourceSealing sealing;

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    @BeforeEach
    void create() throws Exception {
        DomainConfig c = new DomainConfig("vm", 4, 2, List.of(ProtectedProcessSpec.of("a", 10, 8),
                ProtectedProcessSpec.of("b", 100, 5)), WorkloadSpec.idle(50));
        domain = Domain.create(1, c, dir.resolve("mem"), random, true);
        sealing = new SourceSealing(key, mid, vm, domain.processes, dir.resolve("mem/slots.sealed"));
    }

    @AfterEach
    void close() {
        sealing.close();
        domain.destroy();
    }

    byte[] slotRecord(int pi, int index) throws Exception {
        try (FileChannel ch = FileChannel.open(sealing.file)) {
            ByteBuffer b = ByteBuffer.allocate(SourceSealing.PAGE_RECORD);
            ch.read(b, sealing.position(pi, index));
            return b.array();
        }
    }

    long seal(int pi, int index) throws ProtocolException {
        ProtectedProcess p = domain.processes.get(pi);
        synchronized (p.lockFor(index)) {
            return sealing.sealPage(pi, p, index);
        }
    }

    @Test
    void aSealedPageIsByteForByteWhatTheProtocolLibrarySealsAndItsOpenerOpens() throws Exception {
        ProtectedProcess p = domain.processes.get(0);
        byte[] plain = new byte[Domain.PAGE];
        p.plainPage(3).get(0, plain);
        long version = seal(0, 3);
        byte[] record = slotRecord(0, 3);

        ByteBuffer h = ByteBuffer.wrap(record);
        assertEquals(RecordType.SEALED.code(), h.getInt(0));
        assertEquals(SealedBlob.PAGE_BODY_LENGTH, h.getInt(4));
        byte[] body = Arrays.copyOfRange(record, 16, record.length);
        // the library's sealer, first sealing of its session = counter 0, as here
        byte[] expected = new Sealer(key, mid, vm).sealPage(p.processId, p.pfns[3], version, plain, 0).body();
        assertArrayEquals(expected, body);
        assertArrayEquals(plain, new Opener(key, mid, vm).open(SealedBlob.decode(body)));
    }

    @Test
    void oneSealingPerVersionAndANewOneAfterAWrite() throws Exception {
        long v1 = seal(1, 2);
        byte[] first = slotRecord(1, 2);
        long used = sealing.sealings();
        assertEquals(v1, seal(1, 2), "an unwritten page keeps its version");
        assertEquals(used, sealing.sealings(), "a re-send spends no counter value");
        assertArrayEquals(first, slotRecord(1, 2));

        domain.processes.get(1).write(2, 64, 42L, null);
        long v2 = seal(1, 2);
        assertEquals(v1 + 1, v2);
        assertEquals(used + 1, sealing.sealings());
        byte[] second = slotRecord(1, 2);
        assertNotEquals(ByteBuffer.wrap(first).getLong(24), ByteBuffer.wrap(second).getLong(24), "new counter");
        SealedBlob blob = SealedBlob.decode(Arrays.copyOfRange(second, 16, second.length));
        assertEquals(v2, blob.version());
        assertEquals(42L, ByteBuffer.wrap(new Opener(key, mid, vm).open(blob)).getLong(64));
    }

    @Test
    void theTableIsAManifestTheLibraryDecodesWithTheSameDigestAndKeysOutOfIt() throws Exception {
        assertEquals("pfn 10 of process 1", sealing.table.firstUnsealed());
        Map<Integer, byte[]> keys = new HashMap<>();
        for (int pi = 0; pi < domain.processes.size(); pi++) {
            ProtectedProcess p = domain.processes.get(pi);
            keys.put(p.processId, p.key());
            for (int i = 0; i < p.pageCount(); i++) {
                seal(pi, i);
            }
            for (int v = 0; v < p.vcpus(); v++) {
                sealing.sealContext(pi, p, v);
            }
        }
        assertEquals(null, sealing.table.firstUnsealed());
        byte[] digest = sealing.table.digest();
        Manifest m = Manifest.decode(sealing.table.encode(keys, digest));
        assertArrayEquals(digest, m.digest(), "the decoder recomputes the same digest");
        assertEquals(2, m.processes().size());
        Manifest.ProcessEntry b = m.process(2);
        assertArrayEquals(keys.get(2), b.key());
        assertEquals(5, b.pageCount());
        assertEquals(104, b.pfn(4));
        byte[] rec = slotRecord(1, 4);
        assertArrayEquals(Arrays.copyOfRange(rec, rec.length - 16, rec.length), b.pageTag(4));
        assertEquals(2, b.contextCount());

        Map<Integer, byte[]> otherKeys = new HashMap<>();
        otherKeys.put(1, bytes(32));
        otherKeys.put(2, bytes(32));
        assertArrayEquals(digest, Manifest.decode(sealing.table.encode(otherKeys, digest)).digest(),
                "no function of a process key is in the digest");
    }

    @Test
    void aClosedSessionSealsNothingAndLeavesNoFile() throws Exception {
        sealing.close();
        assertFalse(sealing.file.toFile().exists());
        domain.processes.get(0).write(0, 0, 1L, null);
        assertThrows(IllegalStateException.class, () -> seal(0, 0));
    }

    @Test
    void theNextSessionTakesTheClosedOnesFileAsItsOwnAndSealsUnderItsOwnKeys() throws Exception {
        seal(0, 3);
        Path first = sealing.file;
        Path spare = first.resolveSibling(SourceSealing.SpareSlots.SPARE_NAME);
        sealing.close();
        assertFalse(Files.exists(first), "the ended session's name is gone");
        assertTrue(Files.exists(spare), "its file is kept as the host's spare");

        SecretKey key2 = new SecretKeySpec(bytes(32), "AES");
        MigrationId mid2 = MigrationId.of(bytes(16));
        sealing = new SourceSealing(key2, mid2, vm, domain.processes, dir.resolve("mem/next.sealed"));
        assertFalse(Files.exists(spare), "taken over by the next session");
        assertTrue(Files.exists(sealing.file));
        long v = seal(0, 3);
        byte[] rec = slotRecord(0, 3);
        SealedBlob blob = SealedBlob.decode(Arrays.copyOfRange(rec, 16, rec.length));
        assertEquals(v, blob.version());
        byte[] plain = new byte[Domain.PAGE];
        domain.processes.get(0).plainPage(3).get(0, plain);
        assertArrayEquals(plain, new Opener(key2, mid2, vm).open(blob), "sealed afresh for this session");
        assertThrows(ProtocolException.class, () -> new Opener(key, mid, vm).open(blob),
                "nothing of the ended session's keys is in it");
    }

    @Test
    void aSpareTooSmallForTheNextSessionStaysASpare() throws Exception {
        Path spare = sealing.file.resolveSibling(SourceSealing.SpareSlots.SPARE_NAME);
        sealing.close();
        Domain d = bigDomain();
        try (SourceSealing s = new SourceSealing(key, mid, vm, d.processes, dir.resolve("mem/big.sealed"))) {
            assertTrue(Files.exists(spare), "a 13-page session's file cannot hold 400 slots");
            assertTrue(Files.size(s.file) >= 400L * SourceSealing.PAGE_RECORD);
        } finally {
            d.destroy();
        }
        sealing = new SourceSealing(key, mid, vm, domain.processes, dir.resolve("mem/again.sealed"));
    }

    @Test
    void aLargerSessionsFileReplacesASmallerSpareSoTheNextLargeSessionTakesIt() throws Exception {
        Path spare = sealing.file.resolveSibling(SourceSealing.SpareSlots.SPARE_NAME);
        sealing.close(); // a 13-page spare, as a warm-up leaves
        long small = Files.size(spare);
        Domain d = bigDomain();
        try {
            Path bigFile;
            try (SourceSealing s = new SourceSealing(key, mid, vm, d.processes, dir.resolve("mem/big1.sealed"))) {
                bigFile = s.file;
            }
            assertFalse(Files.exists(bigFile));
            assertTrue(Files.size(spare) >= 400L * SourceSealing.PAGE_RECORD,
                    "the larger session's file is the spare now, not the " + small + "-byte one");
            try (SourceSealing s = new SourceSealing(key, mid, vm, d.processes, dir.resolve("mem/big2.sealed"))) {
                assertFalse(Files.exists(spare), "the next large session took it instead of a fresh file");
                assertTrue(Files.size(s.file) >= 400L * SourceSealing.PAGE_RECORD);
            }
        } finally {
            d.destroy();
        }
        sealing = new SourceSealing(key, mid, vm, domain.processes, dir.resolve("mem/again.sealed"));
    }

    /** A domain with one 400-page protected process: more slots than the fixture's 13-page session file holds. */
    private Domain bigDomain() throws Exception {
        DomainConfig big = new DomainConfig("big", 4, 2, List.of(ProtectedProcessSpec.of("c", 200, 400)),
                WorkloadSpec.idle(0));
        return Domain.create(2, big, dir.resolve("mem"), random, true);
    }
}
