package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.console.core.attest.AttestationEntry;
import org.sealift.console.core.attest.AttestationFilter;
import org.sealift.console.core.attest.ImportResult;
import org.sealift.console.core.attest.Verdict;
import org.sealift.console.core.internal.AttestationReviewServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.internal.TrustMaterialServiceImpl;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.tests.fixtures.TestCluster;
import org.sealift.console.core.tests.fixtures.TestCluster.Host;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.Outcome;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.pki.Pem;

/**
 * Verification is attacked, not read: real records signed by a real cluster PKI, then tampered with, signed by a
 * host outside the policy, or checked without the signer's certificate.
 */
class AttestationReviewTest {

    @TempDir
    Path dir;

    private final TestCluster cluster = new TestCluster();
    private final Host h1 = cluster.host("h1");
    private final Host h2 = cluster.host("h2");

    private AttestationReviewServiceImpl service(ConsoleSettings settings) throws Exception {
        SettingsServiceImpl store = new SettingsServiceImpl(dir.resolve("home"));
        store.save(settings);
        return new AttestationReviewServiceImpl(new TrustMaterialServiceImpl(store),
                Clock.fixed(TestCluster.NOW, ZoneOffset.UTC));
    }

    private AttestationEntry only(AttestationReviewServiceImpl s, Path file) {
        ImportResult r = s.importFile(file);
        assertEquals(List.of(), r.problems());
        return s.entries().stream().filter(e -> e.origin().equals(file.toString())).findFirst().orElseThrow();
    }

    @Test
    void aGoodRecordPasses() throws Exception {
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1, h2));
        Path f = dir.resolve("good.pem");
        cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(60)).save(f);
        Verdict v = s.verify(only(s, f));
        assertTrue(v.ok(), () -> v.failures().toString());
        assertEquals("PASS", v.headline());
    }

    @Test
    void aTamperedRecordFailsBecauseBothSignaturesNoLongerVerify() throws Exception {
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1, h2));
        SignedRecord good = cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(60));
        SignedRecord bad = TestCluster.tampered(good);
        assertFalse(bad.record().equals(good.record()), "the tamper must change the signed content");
        Path f = dir.resolve("tampered.pem");
        bad.save(f);
        Verdict v = s.verify(only(s, f));
        assertFalse(v.ok());
        String label = bad.record().migrationLabel();
        assertEquals(List.of("record " + label + ": source signature does not verify with AK of host h1",
                "record " + label + ": destination signature does not verify with AK of host h2"), v.failures());
    }

    @Test
    void aRecordSignedByAHostWhoseMeasurementThePolicyDoesNotAllowFails() throws Exception {
        Host rogue = cluster.host("h9", TestCluster.ROGUE_MEASUREMENT);
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1, rogue));
        Path f = dir.resolve("rogue.pem");
        cluster.committed(h1, rogue, TestCluster.NOW.minusSeconds(60)).save(f);
        Verdict v = s.verify(only(s, f));
        assertFalse(v.ok());
        assertEquals(1, v.failures().size(), v.failures().toString());
        assertTrue(v.failures().get(0).contains("destination AK of host h9 is not acceptable: POLICY: host h9 is not"
                + " attested: measurement 66666666\u2026 is not in policy 'prod-2026' serial 4"), v.failures().get(0));
    }

    @Test
    void withoutTheSignersCertificateTheRecordFailsAndSaysWhichCertificateToAdd() throws Exception {
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1)); // h2's AK missing
        Path f = dir.resolve("r.pem");
        cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(60)).save(f);
        Verdict v = s.verify(only(s, f));
        assertFalse(v.ok());
        assertTrue(v.failures().get(0).endsWith("(host h2) was given to the verifier; add host h2's AK certificate"),
                v.failures().get(0));
    }

    @Test
    void withoutTrustSettingsVerificationFailsNamingTheSettingToFix() throws Exception {
        AttestationReviewServiceImpl s = service(ConsoleSettings.DEFAULTS);
        Path f = dir.resolve("r.pem");
        cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(60)).save(f);
        Verdict v = s.verify(only(s, f));
        assertFalse(v.ok());
        assertEquals(List.of("cannot verify: trust anchor not set: choose cluster-trust.pem (from 'sealift ca init') in"
                + " Preferences"), v.failures());
    }

    @Test
    void aLogFileIsImportedEntryByEntryAndItsChainIsVerifiedWithTheHeadLeftAsANote() throws Exception {
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1, h2));
        AttestationLog log = AttestationLog.create("h1");
        log.append(cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(300)));
        log.append(cluster.aborted(h1, h2, TestCluster.VM, TestCluster.NOW.minusSeconds(200), "operator"));
        log.append(cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(100)));
        Path f = dir.resolve("h1.log");
        log.save(f);

        ImportResult r = s.importFile(f);
        assertEquals(3, r.added());
        assertEquals(List.of(0L, 1L, 2L), s.entries().stream().map(AttestationEntry::logIndex).toList());
        Verdict ok = s.verifyLog(f);
        assertTrue(ok.ok(), () -> ok.failures().toString());
        assertTrue(ok.notes().get(ok.notes().size() - 1).startsWith("the hypervisor's signed head of host h1 was not"
                + " checked"), ok.notes().toString());

        // dom0 deletes the middle entry: the chain breaks exactly there
        List<LogEntry> entries = log.entries();
        AttestationLog.of("h1", List.of(entries.get(0), entries.get(2))).save(f);
        Verdict broken = s.verifyLog(f);
        assertFalse(broken.ok());
        assertTrue(broken.failures().contains("entry 2: previous-hash mismatch (log edited or truncated before entry"
                + " 2)"), broken.failures().toString());
    }

    @Test
    void aFileWithTwoRecordsAndOneDamagedBlockImportsTheGoodOneAndNamesTheBadOne() throws Exception {
        AttestationReviewServiceImpl s = service(ConsoleSettings.DEFAULTS);
        SignedRecord a = cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(60));
        byte[] junk = new byte[40];
        Path f = dir.resolve("two.pem");
        Files.writeString(f, a.toPem() + Pem.encode(SignedRecord.PEM_TYPE, junk));
        ImportResult r = s.importFile(f);
        assertEquals(1, r.added());
        assertEquals(1, r.problems().size());
        assertTrue(r.problems().get(0).startsWith(f + ", record 2: MALFORMED"), r.problems().get(0));
        assertEquals(0, s.importFile(f).added(), "the same record twice is one entry");

        Path notRecords = dir.resolve("notes.txt");
        Files.writeString(notRecords, "hello");
        assertTrue(s.importFile(notRecords).problems().get(0).contains("holds no \"SEALIFT ATTESTATION RECORD\""));
    }

    @Test
    void filtersByVmHostOutcomeAndDate() throws Exception {
        AttestationReviewServiceImpl s = service(ConsoleSettings.DEFAULTS);
        Host h3 = cluster.host("h3");
        UUID other = UUID.fromString("0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a");
        s.add(List.of(cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(86_400 * 3)),
                cluster.aborted(h2, h3, other, TestCluster.NOW.minusSeconds(60), "cancelled"),
                cluster.committed(h3, h1, TestCluster.NOW.minusSeconds(30))), "agent h1");
        assertEquals(3, s.filter(AttestationFilter.ALL).size());
        assertEquals(1, s.filter(new AttestationFilter("0d9e", null, null, null, null, null)).size());
        assertEquals(2, s.filter(new AttestationFilter(null, "h3", null, null, null, null)).size());
        assertEquals(1, s.filter(new AttestationFilter(null, null, Outcome.ABORTED_BY_SOURCE, null, null, null))
                .size());
        LocalDate today = LocalDate.ofInstant(TestCluster.NOW, ZoneOffset.UTC);
        assertEquals(2, s.filter(new AttestationFilter(null, null, null, today, today, null)).size());
        assertEquals(1, s.filter(new AttestationFilter(null, "H2", Outcome.COMMITTED, null, today.minusDays(1),
                null)).size());
    }

    @Test
    void exportsJsonWithVerdictsAndAnEscapedPrintableHtmlReport() throws Exception {
        AttestationReviewServiceImpl s = service(cluster.writeTrust(dir.resolve("trust"), h1, h2));
        s.add(List.of(cluster.aborted(h1, h2, TestCluster.VM, TestCluster.NOW.minusSeconds(60),
                "operator <script>alert(1)</script> cancelled")), "agent h1");
        AttestationEntry e = s.entries().get(0);
        Verdict v = s.verify(e);
        assertTrue(v.ok(), () -> v.failures().toString());

        Path json = dir.resolve("out/records.json");
        s.exportJson(s.entries(), Map.of(e.key(), v), json);
        String j = Files.readString(json);
        assertTrue(j.startsWith("[\n  {\"origin\": \"agent h1\", \"verification\": {\"ok\": true"), j);
        assertTrue(j.contains("\"outcome\":\"ABORTED_BY_SOURCE\"") || j.contains("\"outcome\": \"ABORTED_BY_SOURCE\""),
                j);
        assertTrue(j.trim().endsWith("]"));

        Path html = dir.resolve("out/report.html");
        s.exportHtml(s.entries(), Map.of(e.key(), v), html);
        String h = Files.readString(html);
        assertTrue(h.contains("operator &lt;script&gt;alert(1)&lt;/script&gt; cancelled"), "detail must be escaped");
        assertFalse(h.contains("<script>"));
        assertTrue(h.contains("<span class=\"pass\">PASS</span>"));
        assertTrue(h.contains("@media print"));
    }
}
