package org.sealift.protocol.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.sealift.protocol.seal.Fixtures.KEY;
import static org.sealift.protocol.seal.Fixtures.MIGRATION;
import static org.sealift.protocol.seal.Fixtures.VM;
import static org.sealift.protocol.seal.Fixtures.fill;
import static org.sealift.protocol.seal.Fixtures.page;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.ControlReceiver;
import org.sealift.protocol.control.ControlSender;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.control.StreamRules;
import org.sealift.protocol.handshake.Role;
import org.sealift.protocol.wire.PageBatch;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * A whole source→destination stream, built by the source side and received by a destination loop that uses every
 * piece the way a hypervisor would (decoder, ordering rules, control receiver, protected page store). dom0 edits the
 * list of records in between.
 */
class MigrationStreamAttackTest {

    private static final SecretKey CONTROL_KEY = new SecretKeySpec(fill(32, 0x5c), "AES");
    private static final byte[] RELEASE_TOKEN = "RELEASE token bytes".getBytes(StandardCharsets.US_ASCII);

    /** The records of an honest migration: handshake stand-ins, two rounds, final state, MANIFEST, RELEASE, END. */
    private static List<WireRecord> honestStream() throws Exception {
        Sealer sealer = new Sealer(KEY, MIGRATION, VM);
        ControlSender control = new ControlSender(CONTROL_KEY, Role.SOURCE, MIGRATION);
        List<WireRecord> records = new ArrayList<>();
        long seq = 0;
        records.add(new WireRecord(RecordType.HELLO, seq++, fill(40, 1)));
        records.add(new WireRecord(RecordType.FINISH, seq++, fill(40, 3)));
        // round 1: normal pages 1..2 (2 is zero), protected 10 and 11 at version 1
        records.add(new WireRecord(RecordType.PAGE_BATCH, seq++,
                new PageBatch.Builder().page(1, page(50), 0).zero(2).build()));
        records.add(sealer.sealPage(3, 10, 1, page(10), 0).toRecord(seq++));
        records.add(sealer.sealPage(3, 11, 1, page(11), 0).toRecord(seq++));
        // round 2: page 10 was written again
        records.add(sealer.sealPage(3, 10, 2, page(12), 0).toRecord(seq++));
        // paused: the protected process's vCPU context and the manifest
        records.add(sealer.sealVcpu(3, 0, 1, fill(128, 0x42)).toRecord(seq++));
        Manifest m = sealer.buildManifest(Map.of(3, fill(32, 3)));
        records.add(control.seal(RecordType.MANIFEST, m.encode()));
        records.add(control.seal(RecordType.RELEASE, RELEASE_TOKEN));
        records.add(WireRecord.end(seq));
        return records;
    }

    private static byte[] encode(List<WireRecord> records) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(StreamHeader.secureV1().encode());
        for (WireRecord r : records) {
            out.writeBytes(RecordEncoder.encode(r));
        }
        return out.toByteArray();
    }

    /** What the destination hypervisor ends with. */
    private static final class Destination {
        final ProtectedPageStore store = new ProtectedPageStore(new Opener(KEY, MIGRATION, VM));
        final ControlReceiver control = new ControlReceiver(CONTROL_KEY, Role.SOURCE, MIGRATION);
        byte[] release;

        void receive(byte[] stream) throws ProtocolException {
            RecordDecoder decoder = new RecordDecoder();
            StreamRules rules = null;
            // in 1000-octet chunks, as a socket would deliver them
            for (int off = 0; off < stream.length; off += 1000) {
                decoder.feed(ByteBuffer.wrap(stream, off, Math.min(1000, stream.length - off)));
                for (WireRecord r; (r = decoder.next()) != null;) {
                    if (rules == null) {
                        rules = StreamRules.inbound(Role.SOURCE, decoder.streamHeader());
                    }
                    rules.accept(r.type());
                    handle(r);
                }
            }
            decoder.endOfInput();
            if (rules == null) {
                throw new ProtocolException(Reason.TRUNCATED, "no records");
            }
            rules.endOfInput();
        }

        private void handle(WireRecord r) throws ProtocolException {
            switch (r.type()) {
                case PAGE_BATCH: {
                    PageBatch b = PageBatch.decode(r.body());
                    for (int i = 0; i < b.count(); i++) {
                        store.acceptNormal(b.pfn(i), b.isZero(i));
                    }
                    break;
                }
                case SEALED:
                    store.accept(SealedBlob.decode(r));
                    break;
                case MANIFEST:
                    store.verify(Manifest.decode(control.open(r)));
                    break;
                case RELEASE:
                    release = control.open(r);
                    break;
                default:
                    break;
            }
        }
    }

    private static Reason receiveFails(List<WireRecord> records) {
        return assertThrows(ProtocolException.class, () -> new Destination().receive(encode(records))).reason();
    }

    private static int indexOf(List<WireRecord> records, RecordType type) {
        for (int i = 0; i < records.size(); i++) {
            if (records.get(i).type() == type) {
                return i;
            }
        }
        throw new AssertionError("no " + type);
    }

    @Test
    void honestStreamIsVerifiedAndReleased() throws Exception {
        Destination d = new Destination();
        d.receive(encode(honestStream()));
        assertArrayEquals(page(12), d.store.page(10), "the latest version of page 10");
        assertArrayEquals(page(11), d.store.page(11));
        assertArrayEquals(fill(128, 0x42), d.store.context(3, 0));
        assertArrayEquals(RELEASE_TOKEN, d.release);
    }

    @Test
    void pagesReorderedByDom0AreHarmless() throws Exception {
        List<WireRecord> records = honestStream();
        // the round-2 page 10 arrives before its round-1 copy
        WireRecord round2 = records.remove(5);
        records.add(3, round2);
        Destination d = new Destination();
        d.receive(encode(records));
        assertArrayEquals(page(12), d.store.page(10));
        assertEquals(1, d.store.replayCount(), "the late round-1 copy is dropped and counted");
    }

    @Test
    void droppedManifestEndsTheStreamTruncated() throws Exception {
        List<WireRecord> records = honestStream();
        records.remove(indexOf(records, RecordType.MANIFEST));
        records.remove(indexOf(records, RecordType.RELEASE));
        assertEquals(Reason.TRUNCATED, receiveFails(records));
    }

    @Test
    void streamTruncatedInTheMiddleIsTruncated() throws Exception {
        byte[] stream = encode(honestStream());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new Destination().receive(Arrays.copyOf(stream, stream.length / 2)));
        assertEquals(Reason.TRUNCATED, e.reason());
    }

    @Test
    void streamCutAfterTheManifestIsTruncated() throws Exception {
        List<WireRecord> records = honestStream();
        byte[] stream = encode(records.subList(0, indexOf(records, RecordType.MANIFEST) + 1));
        assertEquals(Reason.TRUNCATED, assertThrows(ProtocolException.class,
                () -> new Destination().receive(stream)).reason());
    }

    @Test
    void droppedPageFailsTheManifest() throws Exception {
        List<WireRecord> records = honestStream();
        records.remove(4); // protected pfn 11
        assertEquals(Reason.MANIFEST_MISMATCH, receiveFails(records));
    }

    @Test
    void latestRoundDroppedFailsTheManifestAsStale() throws Exception {
        List<WireRecord> records = honestStream();
        records.remove(5); // round-2 copy of page 10
        assertEquals(Reason.MANIFEST_MISMATCH, receiveFails(records));
    }

    @Test
    void protectedPageReplacedByAZeroMarkerFailsTheManifest() throws Exception {
        List<WireRecord> records = honestStream();
        records.set(4, new WireRecord(RecordType.PAGE_BATCH, 4, new PageBatch.Builder().zero(11).build()));
        assertEquals(Reason.MANIFEST_MISMATCH, receiveFails(records));
    }

    @Test
    void protectedPageFollowedByAZeroMarkerIsRefused() throws Exception {
        List<WireRecord> records = honestStream();
        records.add(6, new WireRecord(RecordType.PAGE_BATCH, 99, new PageBatch.Builder().zero(10).build()));
        assertEquals(Reason.MANIFEST_MISMATCH, receiveFails(records));
    }

    @Test
    void tamperedManifestRecordIsRefused() throws Exception {
        List<WireRecord> records = honestStream();
        int i = indexOf(records, RecordType.MANIFEST);
        byte[] body = records.get(i).body().clone();
        body[60] ^= 1;
        records.set(i, new WireRecord(RecordType.MANIFEST, records.get(i).sequence(), body));
        assertEquals(Reason.TAMPERED, receiveFails(records));
    }

    @Test
    void tamperedVcpuContextIsRefused() throws Exception {
        List<WireRecord> records = honestStream();
        byte[] body = records.get(6).body().clone();
        body[50] ^= 1;
        records.set(6, new WireRecord(RecordType.SEALED, 6, body));
        assertEquals(Reason.TAMPERED, receiveFails(records));
    }

    @Test
    void manifestBodyRelabelledAsReleaseFailsItsTag() throws Exception {
        List<WireRecord> records = honestStream();
        int release = indexOf(records, RecordType.RELEASE);
        WireRecord manifest = records.get(indexOf(records, RecordType.MANIFEST));
        // RELEASE with the expected sequence but another record's bytes: type and sequence are in the AAD
        records.set(release, new WireRecord(RecordType.RELEASE, 1, Arrays.copyOf(manifest.body(), 64)));
        assertEquals(Reason.TAMPERED, receiveFails(records));
    }

    @Test
    void controlRecordsSwappedInTheStreamAreRefused() throws Exception {
        List<WireRecord> records = honestStream();
        int manifest = indexOf(records, RecordType.MANIFEST);
        java.util.Collections.swap(records, manifest, manifest + 1);
        assertEquals(Reason.UNEXPECTED_RECORD, receiveFails(records));
    }

    @Test
    void duplicatedManifestIsRefused() throws Exception {
        List<WireRecord> records = honestStream();
        int manifest = indexOf(records, RecordType.MANIFEST);
        records.add(manifest + 1, records.get(manifest));
        assertEquals(Reason.UNEXPECTED_RECORD, receiveFails(records));
    }

    @Test
    void unknownMandatoryRecordInTheStreamStopsIt() throws Exception {
        byte[] stream = encode(honestStream());
        byte[] injected = new byte[stream.length + 16];
        System.arraycopy(stream, 0, injected, 0, 16 + 16 + 40);
        ByteBuffer.wrap(injected, 16 + 16 + 40, 16).putInt(0x0000_0042).putInt(0).putLong(0);
        System.arraycopy(stream, 16 + 16 + 40, injected, 16 + 16 + 40 + 16, stream.length - 16 - 16 - 40);
        assertEquals(Reason.UNKNOWN_MANDATORY_RECORD, assertThrows(ProtocolException.class,
                () -> new Destination().receive(injected)).reason());
    }

    @Test
    void unknownOptionalRecordInTheStreamIsSkipped() throws Exception {
        byte[] stream = encode(honestStream());
        byte[] injected = new byte[stream.length + 24];
        System.arraycopy(stream, 0, injected, 0, 16 + 16 + 40);
        ByteBuffer.wrap(injected, 16 + 16 + 40, 24).putInt(0x8000_0042).putInt(8).putLong(0).putLong(-1);
        System.arraycopy(stream, 16 + 16 + 40, injected, 16 + 16 + 40 + 24, stream.length - 16 - 16 - 40);
        Destination d = new Destination();
        d.receive(injected);
        assertArrayEquals(RELEASE_TOKEN, d.release);
    }
}
