package org.sealift.protocol.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.AttestationRecord.Side;
import org.sealift.protocol.pki.Hex;

class AttestationRecordTest {

    private final Cluster cluster;
    private final Cluster.Host h1;
    private final Cluster.Host h2;

    AttestationRecordTest() throws ProtocolException {
        cluster = new Cluster();
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
    }

    @Test
    void canonicalBytesRoundTripForEveryOutcome() throws Exception {
        for (Outcome o : Outcome.values()) {
            AttestationRecord r = cluster.record(h1, h2, o).anomaly(AnomalyKind.REPLAY, 3, "pfn 0x1f00 v2 after v3")
                    .anomaly(AnomalyKind.TAMPER, 1, "SEALED pfn 0x2000 tag mismatch").build();
            byte[] bytes = r.toCanonicalBytes();
            AttestationRecord back = AttestationRecord.fromCanonicalBytes(bytes);
            assertEquals(r, back);
            assertArrayEquals(bytes, back.toCanonicalBytes());
            assertEquals(r.fields(), back.fields());
            SignedRecord sr = Cluster.signedByBoth(r, h1, h2);
            SignedRecord parsed = SignedRecord.parse(sr.encoded());
            assertArrayEquals(sr.encoded(), parsed.encoded());
            assertTrue(parsed.verifies(Side.SOURCE, h1.akCert.getPublicKey()));
            assertTrue(parsed.verifies(Side.DESTINATION, h2.akCert.getPublicKey()));
        }
    }

    @Test
    void everyTruncationOfASignedRecordIsMalformed() throws Exception {
        byte[] enc = Cluster.signedByBoth(cluster.record(h1, h2, Outcome.COMMITTED).build(), h1, h2).encoded();
        for (int cut = 0; cut < enc.length; cut++) {
            byte[] shorter = Arrays.copyOf(enc, cut);
            var e = assertThrows(ProtocolException.class, () -> SignedRecord.parse(shorter), "cut at " + cut);
            assertEquals(Reason.MALFORMED, e.reason());
        }
    }

    @Test
    void sourceSignatureDoesNotServeAsDestinationSignature() throws Exception {
        // the signed message names the side, so one host cannot sign for both ends
        AttestationRecord r = cluster.record(h1, h2, Outcome.COMMITTED).build();
        byte[] srcSig = h1.ak.sign(r.signedMessage(Side.SOURCE));
        SignedRecord sr = SignedRecord.unsigned(r).withSignature(Side.DESTINATION, srcSig);
        assertFalse(sr.verifies(Side.DESTINATION, h1.akCert.getPublicKey()));
        assertFalse(Arrays.equals(r.signedMessage(Side.SOURCE), r.signedMessage(Side.DESTINATION)));
    }

    @Test
    void jsonViewContainsTheFieldsPeopleReview() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.ABORTED_BY_DESTINATION)
                .anomaly(AnomalyKind.REPLAY, 2, "page \"7\" v1\nafter v3").build();
        String json = Cluster.signedByBoth(r, h1, h2).toJson();
        for (String expected : new String[] {
                "\"migrationId\": \"" + Hex.encode(r.migrationId()) + "\"",
                "\"vmId\": \"6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab\"",
                "\"hostId\": \"h1\"", "\"hostId\": \"h2\"",
                "\"akFingerprint\": \"" + Hex.encode(h2.party().akFingerprint()) + "\"",
                "\"measurement\": \"" + Hex.encode(Cluster.MEASUREMENT) + "\"",
                "\"policySerial\": 1", "\"suite\": \"" + Cluster.SUITE + "\"",
                "\"start\": \"2026-03-01T11:59:00Z\"", "\"pause\": \"2026-03-01T11:59:40Z\"", "\"resume\": null",
                "\"outcome\": \"ABORTED_BY_DESTINATION\"", "\"reason\": \"DEADLINE\"",
                "\"rounds\": 4", "\"pagesNormal\": 250000", "\"pagesProtected\": 1200", "\"pagesZero\": 30000",
                "\"bytes\": 1030000000", "\"downtimeMillis\": 180", "\"totalMillis\": 41000",
                "\"kind\": \"REPLAY\"", "\"count\": 2", "\"firstExample\": \"page \\\"7\\\" v1\\nafter v3\"",
                "\"kind\": \"DEADLINE\"",
                "\"transcriptHash\": \"" + "7a".repeat(32) + "\"", "\"manifestDigest\": \"" + "4d".repeat(32) + "\"",
                "\"recordHash\": \"" + Hex.encode(r.hash()) + "\"", "\"source\": \"", "\"destination\": \""}) {
            assertTrue(json.contains(expected), () -> "missing " + expected + " in\n" + json);
        }
    }

    @Test
    void recordFileExportsAndImports(@TempDir Path dir) throws Exception {
        SignedRecord sr = Cluster.signedByBoth(cluster.record(h1, h2, Outcome.COMMITTED).build(), h1, h2);
        Path f = dir.resolve("m.record");
        sr.save(f);
        assertEquals(sr, SignedRecord.load(f));
    }

    @Test
    void rejectedRecordMayNameAnUnidentifiedPeerButOthersMayNot() {
        AttestationRecord rejected = cluster.record(h1, h2, Outcome.REJECTED)
                .source(Party.unidentified("dom0-fake")).build();
        assertFalse(rejected.source().isIdentified());
        assertTrue(rejected.toJson().contains("\"akFingerprint\": null"));
        var e = assertThrows(IllegalArgumentException.class, () -> cluster.record(h1, h2, Outcome.COMMITTED)
                .source(Party.unidentified("dom0-fake")).build());
        assertTrue(e.getMessage().contains("only REJECTED may name an unidentified host"));
    }

    /** A deliberate abort reads back as CANCELLED (a reason this build knows), its action in the detail. */
    @Test
    void anOperatorsCancelIsRecordedAsCancelledAndReadBackAsSuch() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.ABORTED_BY_SOURCE)
                .outcome(Outcome.ABORTED_BY_SOURCE, "CANCELLED", "cancelled by the operator before RELEASE").build();
        AttestationRecord back = AttestationRecord.fromCanonicalBytes(r.toCanonicalBytes());
        assertEquals(Optional.of(Reason.CANCELLED), back.reason());
        assertEquals("cancelled by the operator before RELEASE", back.detail());
        assertTrue(back.toJson().contains("\"reason\": \"CANCELLED\""), back.toJson());
    }

    @Test
    void nonCanonicalAnomalyOrderIsMalformed() throws Exception {
        AttestationRecord r = cluster.record(h1, h2, Outcome.COMMITTED).anomaly(AnomalyKind.REPLAY, 1, "a")
                .anomaly(AnomalyKind.TAMPER, 1, "b").build();
        byte[] bytes = r.toCanonicalBytes();
        // the two anomalies are "01 <count> 00 01 'a'" then "02 <count> 00 01 'b'": swap their kind bytes
        int first = indexOf(bytes, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'a'});
        int second = indexOf(bytes, new byte[] {2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'b'});
        bytes[first] = 2;
        bytes[second] = 1;
        var e = assertThrows(ProtocolException.class, () -> AttestationRecord.fromCanonicalBytes(bytes));
        assertTrue(e.getMessage().contains("anomaly kinds are not strictly ascending"), e.getMessage());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not found");
    }
}
