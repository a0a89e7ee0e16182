package org.sealift.protocol.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;

class ManifestTest {

    static final MigrationId MIGRATION = MigrationId.of(HexFormat.of().parseHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
    static final UUID VM = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");

    static byte[] fill(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    /** The manifest whose digest was computed independently (see the known-answer test). */
    static Manifest sample() {
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        // added out of order on purpose: the encoding is canonical
        b.process(9, fill(32, 0x22)).page(0x30, 1, fill(16, 0xdd));
        b.process(7, fill(32, 0x11)).page(0x20, 5, fill(16, 0xbb)).page(0x10, 2, fill(16, 0xaa))
                .context(1, 3, fill(16, 0xcc));
        return b.build();
    }

    @Test
    void digestMatchesAnIndependentComputationFromTheSpec() throws Exception {
        // computed once with Python hashlib from docs/protocol.md §6.1/§6.2 (header, process blocks without keys,
        // entries; label "SMP1/manifest-digest"); the whole 304-octet encoding hashed to 98d07d1d…
        Manifest m = sample();
        assertEquals("fcc5f65a25ab256686a8d86c6462b0264907321af1439e07b406c7d39fd4ed5c", m.digestHex());
        byte[] encoded = m.encode();
        assertEquals(304, encoded.length);
        assertEquals("98d07d1d6e1c1147f1e28e2b2f4e2291c56a9ef02902a86974d7d9e0916caa67",
                HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(encoded)));
    }

    @Test
    void roundTripKeepsEveryEntry() throws Exception {
        Manifest m = Manifest.decode(sample().encode());
        assertEquals(MIGRATION, m.migrationId());
        assertEquals(VM, m.vmId());
        assertEquals(3, m.totalPages());
        assertEquals(1, m.totalContexts());
        Manifest.ProcessEntry p7 = m.process(7);
        assertEquals(2, p7.pageCount());
        assertEquals(0x10, p7.pfn(0));
        assertEquals(2, p7.pageVersion(0));
        assertArrayEquals(fill(16, 0xaa), p7.pageTag(0));
        assertEquals(1, p7.pageIndex(0x20));
        assertEquals(-1, p7.pageIndex(0x30));
        assertArrayEquals(fill(32, 0x11), p7.key());
        assertEquals(1, p7.vcpuId(0));
        assertEquals(3, p7.contextVersion(0));
        assertArrayEquals(sample().digest(), m.digest());
    }

    @Test
    void digestLeavesTheProcessKeysOutBecauseItIsPublished() {
        Manifest a = sample();
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        b.process(9, fill(32, 0x99)).page(0x30, 1, fill(16, 0xdd));
        b.process(7, fill(32, 0x98)).page(0x20, 5, fill(16, 0xbb)).page(0x10, 2, fill(16, 0xaa))
                .context(1, 3, fill(16, 0xcc));
        assertArrayEquals(a.digest(), b.build().digest());
    }

    @Test
    void digestCoversEveryTagVersionAndPfn() {
        byte[] base = sample().digest();
        Manifest.Builder tag = Manifest.builder(MIGRATION, VM);
        tag.process(9, fill(32, 0x22)).page(0x30, 1, fill(16, 0xde));
        Manifest.Builder version = Manifest.builder(MIGRATION, VM);
        version.process(9, fill(32, 0x22)).page(0x30, 2, fill(16, 0xdd));
        Manifest.Builder pfn = Manifest.builder(MIGRATION, VM);
        pfn.process(9, fill(32, 0x22)).page(0x31, 1, fill(16, 0xdd));
        for (Manifest.Builder b : new Manifest.Builder[] {tag, version, pfn}) {
            b.process(7, fill(32, 0x11)).page(0x20, 5, fill(16, 0xbb)).page(0x10, 2, fill(16, 0xaa))
                    .context(1, 3, fill(16, 0xcc));
            assertTrue(!Arrays.equals(base, b.build().digest()));
        }
    }

    @Test
    void tamperedManifestPlaintextFailsItsDigest() {
        // the AEAD already stops dom0; this is the second line: a manifest whose table and digest disagree
        byte[] encoded = sample().encode();
        encoded[48 + 48 + 16 + 3] ^= 1; // a tag octet of process 7's first page
        ProtocolException e = assertThrows(ProtocolException.class, () -> Manifest.decode(encoded));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
    }

    @Test
    void countsThatDoNotMatchTheLengthAreMalformedBeforeAllocating() {
        byte[] encoded = sample().encode();
        ByteBuffer.wrap(encoded).putLong(40, Manifest.MAX_TOTAL_PAGES); // header claims a million pages
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(encoded)).reason());
        byte[] huge = sample().encode();
        ByteBuffer.wrap(huge).putLong(40, Long.MAX_VALUE);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> Manifest.decode(huge)).reason());
        byte[] processes = sample().encode();
        ByteBuffer.wrap(processes).putInt(32, -1);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(processes)).reason());
    }

    @Test
    void perProcessCountsThatDisagreeWithTheTotalsAreMalformed() {
        byte[] encoded = sample().encode();
        // process 7 claims 1 page and 2 contexts instead of 2 and 1: same length, different split
        ByteBuffer.wrap(encoded).putInt(48 + 4, 2).putInt(48 + 8, 1);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(encoded)).reason());
    }

    @Test
    void unsortedPagesAreMalformed() {
        byte[] encoded = sample().encode();
        ByteBuffer b = ByteBuffer.wrap(encoded);
        b.putLong(48 + 48, 0x20).putLong(48 + 48 + 32, 0x10);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(encoded)).reason());
    }

    @Test
    void aPfnInTwoProcessesIsMalformed() {
        byte[] encoded = sample().encode();
        // process 9's only page (after process 7's block of 48 + 2*32 + 32) becomes 0x10, owned by process 7
        int p9 = 48 + 48 + 64 + 32;
        ByteBuffer.wrap(encoded).putLong(p9 + 48, 0x10);
        ProtocolException e = assertThrows(ProtocolException.class, () -> Manifest.decode(encoded));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("two processes"), e.getMessage());
    }

    @Test
    void versionZeroIsMalformed() {
        byte[] encoded = sample().encode();
        ByteBuffer.wrap(encoded).putLong(48 + 48 + 8, 0);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(encoded)).reason());
    }

    @Test
    void truncatedManifestIsMalformed() {
        byte[] encoded = sample().encode();
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(Arrays.copyOf(encoded, encoded.length - 8))).reason());
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Manifest.decode(new byte[10])).reason());
    }

    @Test
    void manifestOfAnotherVmOrMigrationIsAMismatch() throws Exception {
        Manifest m = Manifest.decode(sample().encode());
        m.checkSession(MIGRATION, VM);
        assertEquals(Reason.MANIFEST_MISMATCH, assertThrows(ProtocolException.class,
                () -> m.checkSession(MIGRATION, UUID.randomUUID())).reason());
        assertEquals(Reason.MANIFEST_MISMATCH, assertThrows(ProtocolException.class,
                () -> m.checkSession(MigrationId.of(new byte[16]), VM)).reason());
    }

    @Test
    void destroyKeysOverwritesThem() throws Exception {
        Manifest m = Manifest.decode(sample().encode());
        m.destroyKeys();
        assertArrayEquals(new byte[32], m.process(7).key());
    }

    @Test
    void emptyManifestIsValid() throws Exception {
        Manifest m = Manifest.builder(MIGRATION, VM).build();
        assertEquals(48 + 32, m.encode().length);
        assertEquals(0, Manifest.decode(m.encode()).processes().size());
    }
}
