package org.sealift.protocol.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;

/**
 * Fuzzes the MANIFEST parser (docs/protocol.md §6) with arbitrary octets and with edited valid manifests built from
 * fuzzer-chosen contents. A valid manifest round-trips; nothing but {@link ProtocolException} escapes; allocation
 * stays proportional to the input (counts are checked against the length before tables are allocated); whatever
 * decodes re-encodes to its input; and an edited manifest that still decodes differs from the original only inside
 * the process keys, the one part the digest leaves out (the MANIFEST's AEAD protects them).
 */
class ManifestFuzzTest {

    private static final int HEADER = 48;
    private static final int PROCESS_HEADER = 16;
    private static final int ENTRY = 32;

    @FuzzTest(maxDuration = "60s")
    void decode(FuzzedDataProvider data) {
        Manifest built = build(data);
        byte[] valid = built.encode();
        Manifest back = decodeValid(valid);
        assertArrayEquals(valid, back.encode(), "a valid manifest round-trips");
        assertArrayEquals(built.digest(), back.digest());
        assertEquals(built.totalPages(), back.totalPages());
        assertEquals(built.totalContexts(), back.totalContexts());

        byte[] in = FuzzSupport.input(data, valid);
        checkAllocation(in);
        Manifest m;
        try {
            m = Manifest.decode(in);
        } catch (ProtocolException e) {
            return;
        }
        assertArrayEquals(in, m.encode(), "a manifest that decodes re-encodes to its input");
        if (in.length != valid.length) {
            fail("a manifest of another length (" + in.length + " instead of " + valid.length
                    + " octets) decoded: its digest should not have matched");
        }
        BitSet keys = keyOctets(built);
        for (int i = 0; i < in.length; i++) {
            if (in[i] != valid[i] && !keys.get(i)) {
                fail("octet " + i + " of the manifest was changed outside the process keys and it still decoded");
            }
        }
        assertArrayEquals(built.digest(), m.digest(), "the keys are outside the digest");
    }

    private static void decodeQuietly(byte[] in) {
        try {
            Manifest.decode(in);
        } catch (ProtocolException expected) {
            // the outcome is checked by the caller; only the allocation matters here
        }
    }

    private static Manifest decodeValid(byte[] valid) {
        try {
            return Manifest.decode(valid);
        } catch (ProtocolException e) {
            throw new AssertionError("a manifest built with Manifest.builder does not decode: " + e.getMessage(), e);
        }
    }

    /** Decodes twice and measures the second run: the first may load (and instrument) classes, which allocates. */
    private static void checkAllocation(byte[] in) {
        decodeQuietly(in);
        long before = FuzzSupport.allocatedBytes();
        decodeQuietly(in);
        long allocated = FuzzSupport.allocatedBytes() - before;
        assertTrue(allocated <= 8L * in.length + (1 << 20), () -> "decoding a " + in.length + "-octet manifest"
                + " allocated " + allocated + " octets: a count was trusted before it was checked");
    }

    /** A valid manifest: up to 3 processes, 6 pages and 3 vCPU contexts each, all values from the fuzzer. */
    private static Manifest build(FuzzedDataProvider data) {
        MigrationId mid = MigrationId.of(Arrays.copyOf(data.consumeBytes(MigrationId.LENGTH), MigrationId.LENGTH));
        Manifest.Builder b = Manifest.builder(mid, new UUID(data.consumeLong(), data.consumeLong()));
        Set<Integer> pids = new HashSet<>();
        Set<Long> pfns = new HashSet<>();
        int processes = data.consumeInt(0, 3);
        for (int p = 0; p < processes; p++) {
            int pid = data.consumeInt();
            if (!pids.add(pid)) {
                continue;
            }
            Manifest.ProcessBuilder pb = b.process(pid, bytes(data, Manifest.KEY_LENGTH));
            int pages = data.consumeInt(0, 6);
            for (int i = 0; i < pages; i++) {
                long pfn = data.consumeLong(0, Manifest.MAX_PFN);
                if (pfns.add(pfn)) {
                    pb.page(pfn, version(data), bytes(data, Manifest.TAG_LENGTH));
                }
            }
            Set<Integer> vcpus = new HashSet<>();
            int contexts = data.consumeInt(0, 3);
            for (int i = 0; i < contexts; i++) {
                int vcpu = data.consumeInt();
                if (vcpus.add(vcpu)) {
                    pb.context(vcpu, version(data), bytes(data, Manifest.TAG_LENGTH));
                }
            }
        }
        return b.build();
    }

    private static long version(FuzzedDataProvider data) {
        long v = data.consumeLong();
        return v == 0 ? 1 : v;   // versions are unsigned 64-bit and start at 1
    }

    private static byte[] bytes(FuzzedDataProvider data, int n) {
        return Arrays.copyOf(data.consumeBytes(n), n);
    }

    /** Positions of the process keys in the encoding (§6.1): header, then per process 16 octets, key, tables. */
    private static BitSet keyOctets(Manifest m) {
        BitSet keys = new BitSet();
        int at = HEADER;
        for (Manifest.ProcessEntry p : m.processes()) {
            keys.set(at + PROCESS_HEADER, at + PROCESS_HEADER + Manifest.KEY_LENGTH);
            at += PROCESS_HEADER + Manifest.KEY_LENGTH + ENTRY * (p.pageCount() + p.contextCount());
        }
        return keys;
    }
}
