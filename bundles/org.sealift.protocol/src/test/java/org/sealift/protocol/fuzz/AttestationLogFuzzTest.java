package org.sealift.protocol.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.UUID;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AnomalyKind;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.AttestationRecord;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.Party;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.attest.Statistics;

/**
 * Fuzzes the attestation log parser (the file dom0 keeps; docs/protocol-attestation.md "Log file") and the signed
 * records inside it, with arbitrary octets and with edited valid logs. Nothing but {@link ProtocolException}
 * escapes; allocation stays proportional to the input; a log that parses re-encodes to its input, and so does each
 * record that parses.
 */
class AttestationLogFuzzTest {

    private static final byte[] VALID_LOG = validLog();

    /** A log of host h1 with three signed records: committed, aborted, rejected. */
    static byte[] validLog() {
        try {
            AttestationSigner h1 = AttestationSigner.of(KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
            AttestationSigner h2 = AttestationSigner.of(KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
            AttestationLog log = AttestationLog.create("h1");
            Party p1 = new Party("h1", filled(0x21), filled(0x11));
            Party p2 = new Party("h2", filled(0x22), filled(0x11));
            Instant t = Instant.parse("2026-03-01T12:00:00Z");
            AttestationRecord committed = base(1, p1, p2, t).paused(t.plusSeconds(40)).resumed(t.plusSeconds(41))
                    .manifestDigest(filled(0x4d)).outcome(Outcome.COMMITTED, "", "").build();
            AttestationRecord aborted = base(2, p2, p1, t).paused(t.plusSeconds(40)).manifestDigest(filled(0x4e))
                    .outcome(Outcome.ABORTED_BY_SOURCE, "DEADLINE", "no READY within 30 s")
                    .anomaly(AnomalyKind.DEADLINE, 1, "READY missing").build();
            AttestationRecord rejected = base(3, p1, Party.unidentified("h9"), t)
                    .outcome(Outcome.REJECTED, "UNATTESTED", "host h9 is not attested").build();
            log.append(SignedRecord.unsigned(committed).sign(Side.SOURCE, h1).sign(Side.DESTINATION, h2));
            log.append(SignedRecord.unsigned(aborted).sign(Side.SOURCE, h2).sign(Side.DESTINATION, h1));
            log.append(SignedRecord.unsigned(rejected).sign(Side.SOURCE, h1));
            return log.encoded();
        } catch (ProtocolException | NoSuchAlgorithmException e) {
            throw new AssertionError("cannot build the valid log the fuzzer starts from", e);
        }
    }

    private static AttestationRecord.Builder base(int id, Party src, Party dst, Instant t) {
        byte[] mid = new byte[16];
        Arrays.fill(mid, (byte) id);
        return AttestationRecord.builder().migrationId(mid).vmId(new UUID(id, id)).source(src).destination(dst)
                .policySerial(7).suite("SMP1-X25519-ED25519-AES256GCM-SHA256").started(t)
                .statistics(new Statistics(3, 1000, 200, 50, 5_000_000L, 120, 40_000)).transcriptHash(filled(0x7a));
    }

    private static byte[] filled(int b) {
        byte[] x = new byte[32];
        Arrays.fill(x, (byte) b);
        return x;
    }

    @FuzzTest(maxDuration = "60s")
    void parse(FuzzedDataProvider data) {
        byte[] in = FuzzSupport.input(data, VALID_LOG);
        checkAllocation(in);
        AttestationLog log;
        try {
            log = AttestationLog.parse(in);
        } catch (ProtocolException e) {
            return;
        }
        assertArrayEquals(in, log.encoded(), "a log that parses re-encodes to its input");
        for (LogEntry entry : log.entries()) {
            SignedRecord record;
            try {
                record = entry.record();
            } catch (ProtocolException e) {
                continue;
            }
            assertArrayEquals(entry.recordBytes(), record.encoded(), "a record that parses re-encodes to its input");
            try {
                assertEquals(record, SignedRecord.fromPem(record.toPem()), "PEM round trip");
            } catch (ProtocolException e) {
                throw new AssertionError("a parsed record's own PEM does not parse: " + e.getMessage(), e);
            }
            assertTrue(record.toJson().startsWith("{"), "every parsed record renders as JSON");
        }
    }

    /** Parses twice and measures the second run: the first may load (and instrument) classes, which allocates. */
    private static void parseQuietly(byte[] in) {
        try {
            AttestationLog.parse(in);
        } catch (ProtocolException expected) {
            // the outcome is checked by the caller; only the allocation matters here
        }
    }

    private static void checkAllocation(byte[] in) {
        parseQuietly(in);
        long before = FuzzSupport.allocatedBytes();
        parseQuietly(in);
        long allocated = FuzzSupport.allocatedBytes() - before;
        assertTrue(allocated <= 16L * in.length + (1 << 20), () -> "parsing a " + in.length + "-octet log"
                + " allocated " + allocated + " octets: a length was trusted before it was checked");
    }
}
