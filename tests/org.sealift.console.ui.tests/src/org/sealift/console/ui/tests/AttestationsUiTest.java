package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.junit.jupiter.api.Test;
import org.sealift.console.core.tests.fixtures.TestCluster;
import org.sealift.console.core.tests.fixtures.TestCluster.Host;
import org.sealift.console.ui.parts.AttestationsPart;
import org.sealift.console.ui.util.MessageLine;
import org.sealift.console.ui.util.UiIds;
import org.sealift.protocol.attest.SignedRecord;

/**
 * The security officer's view with real records signed by a real cluster PKI: a good record verifies, a tampered copy
 * fails with the verifier's exact reasons, and the filters narrow the table. Clicks and typing are real input.
 */
class AttestationsUiTest {

    @Test
    void aGoodRecordPassesATamperedOneFailsWithTheReasonAndFiltersNarrowTheTable() throws Exception {
        try (ConsoleHarness h = new ConsoleHarness(null, null, "Sealift attestations test")) {
            TestCluster cluster = h.cluster;
            // the harness trusts h1 and h2 (their AK certificates are in its settings); sign with those very keys
            Host h1 = cluster.host("h1");
            Host h2 = cluster.host("h2");
            h.settings.save(cluster.writeTrust(h.home.resolve("trust2"), h1, h2));
            SignedRecord good = cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(600));
            SignedRecord tampered = TestCluster.tampered(cluster.committed(h1, h2, TestCluster.NOW.minusSeconds(300)));
            SignedRecord other = cluster.aborted(h2, h1, java.util.UUID.fromString(
                    "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a"), TestCluster.NOW.minusSeconds(120), "operator cancelled");
            Path dir = h.home.resolve("records");
            java.nio.file.Files.createDirectories(dir);
            good.save(dir.resolve("good.pem"));
            tampered.save(dir.resolve("tampered.pem"));
            other.save(dir.resolve("other.pem"));
            for (String f : List.of("good.pem", "tampered.pem", "other.pem")) {
                assertEquals(List.of(), h.review.importFile(dir.resolve(f)).problems());
            }
            AttestationsPart part = h.part(AttestationsPart.class, h.shell);
            h.open();

            UiRobot.drive(h.display, r -> {
                Table table = r.sync(() -> UiRobot.find(h.shell, UiIds.ATTEST_TABLE, Table.class));
                r.waitFor(() -> table.getItemCount() == 3, () -> "three records listed");
                MessageLine verdict = r.sync(() -> UiRobot.find(h.shell, UiIds.ATTEST_VERDICT, MessageLine.class));
                Button verify = r.sync(() -> UiRobot.find(h.shell, UiIds.ATTEST_VERIFY, Button.class));

                r.click(r.on(row(r, table, good.record().migrationLabel())));
                r.click(verify);
                r.waitFor(() -> verdict.getText().startsWith("PASS"), () -> "PASS for the good record; shown: "
                        + verdict.getText());
                assertEquals("PASS", r.sync(() -> row(r, table, good.record().migrationLabel()).getText(7)));
                r.screenshot("console-attestations-pass");

                String t = tampered.record().migrationLabel();
                r.click(r.on(row(r, table, t)));
                r.click(verify);
                r.waitFor(() -> verdict.getText().startsWith("FAIL"), () -> "FAIL for the tampered record; shown: "
                        + verdict.getText());
                assertEquals("FAIL \u2014 record " + t + ": source signature does not verify with AK of host h1\n"
                        + "record " + t + ": destination signature does not verify with AK of host h2",
                        r.sync(verdict::getText));
                r.screenshot("console-attestations-fail");

                Text vm = r.sync(() -> UiRobot.find(h.shell, UiIds.ATTEST_FILTER_VM, Text.class));
                r.click(vm);
                r.type("0d9e");
                r.waitFor(() -> table.getItemCount() == 1, () -> "one record of VM 0d9e…; rows: "
                        + table.getItemCount());
                assertEquals("ABORTED_BY_SOURCE", r.sync(() -> table.getItem(0).getText(5)));
                assertEquals(2, part.verdicts().size(), "two records verified so far");
            });
        }
    }

    private static TableItem row(UiRobot r, Table table, String label) {
        return r.sync(() -> Arrays.stream(table.getItems()).filter(i -> i.getText(1).equals(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + label)));
    }
}
