package org.sealift.console.core.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.LabConnection;
import org.sealift.console.core.settings.SettingsException;

/** How SEALIFT_LAB_DIR and a lab's lab.json fill the console's settings (the lab itself is not needed here). */
class LabConnectionTest {

    private static Path writeLab(Path dir, String operator) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(LabConnection.FILE), "{\"dir\":\"" + dir + "\",\"labPid\":1,\"agents\":["
                + "{\"host\":\"h1\",\"api\":\"https://127.0.0.1:40001\",\"channel\":\"127.0.0.1:40002\",\"pid\":2,"
                + "\"hypervisorPid\":3,\"rogue\":false,\"akCertificate\":\"" + dir + "/hosts/h1/credentials/ak.crt\"},"
                + "{\"host\":\"h4\",\"api\":\"https://127.0.0.1:40007\",\"channel\":\"127.0.0.1:40008\",\"pid\":4,"
                + "\"hypervisorPid\":5,\"rogue\":true,\"akCertificate\":\"" + dir + "/hosts/h4/credentials/ak.crt\"}],"
                + operator + ",\"trust\":\"" + dir + "/ca/cluster-trust.pem\",\"policy\":\"" + dir
                + "/ca/policy.pem\"}");
        return dir;
    }

    private static String operator(Path dir) {
        return "\"operator\":{\"cert\":\"" + dir + "/operator/lab.crt\",\"key\":\"" + dir + "/operator/lab.key\","
                + "\"ca\":\"" + dir + "/operator/ca.crt\"}";
    }

    @Test
    void withNoAgentsConfiguredTheLabsAgentsAndCredentialsAreUsedButNeverSaved(@TempDir Path tmp) throws Exception {
        Path lab = writeLab(tmp.resolve("lab"), operator(tmp.resolve("lab")));
        SettingsServiceImpl s = new SettingsServiceImpl(tmp.resolve("home"), Map.of(LabConnection.ENV,
                lab.toString()));
        assertEquals(List.of(), s.current().agents(), "Preferences stay empty");
        ConsoleSettings e = s.effective();
        assertEquals(List.of(AgentRef.parse("h1", "https://127.0.0.1:40001"),
                AgentRef.parse("h4", "https://127.0.0.1:40007")), e.agents());
        assertEquals(lab.resolve("operator/lab.crt"), e.operatorCertificate());
        assertEquals(lab.resolve("operator/lab.key"), e.operatorKey());
        assertEquals(lab.resolve("ca/cluster-trust.pem"), e.trustAnchor());
        assertEquals(lab.resolve("ca/policy.pem"), e.policy());
        assertEquals(lab.resolve("hosts"), e.akCertificates(), "AK certificates are found below the hosts folder");
        assertEquals(lab, s.lab().orElseThrow().dir());

        s.save(s.current().withDefaults(s.current().defaults().withMaxRounds(7)));
        String saved = Files.readString(s.file());
        assertTrue(!saved.contains("agent.1") && !saved.contains("operator.certificate"), saved);
    }

    @Test
    void configuredAgentsWinAndWhatIsSetIsKept(@TempDir Path tmp) throws Exception {
        Path lab = writeLab(tmp.resolve("lab"), operator(tmp.resolve("lab")));
        SettingsServiceImpl s = new SettingsServiceImpl(tmp.resolve("home"), Map.of(LabConnection.ENV,
                lab.toString()));
        ConsoleSettings mine = ConsoleSettings.DEFAULTS.withAgents(List.of(AgentRef.parse("h7",
                "https://10.0.0.7:7443")));
        s.save(mine);
        assertTrue(s.lab().isEmpty());
        assertEquals(mine, s.effective());

        // no agents, but trust material and an identity of another cluster saved (seen: a test run left its own
        // in ~/.sealift): the lab's agents come with the lab's identity and trust, the only ones that connect
        Path anchor = Files.writeString(tmp.resolve("mine.pem"), "x");
        Path cert = Files.writeString(tmp.resolve("me.crt"), "x");
        Path key = Files.writeString(tmp.resolve("me.key"), "x");
        s.save(ConsoleSettings.DEFAULTS.withTrust(anchor, anchor, anchor).withOperator(cert, key));
        ConsoleSettings e = s.effective();
        assertEquals(lab.resolve("ca/cluster-trust.pem"), e.trustAnchor());
        assertEquals(lab.resolve("ca/policy.pem"), e.policy());
        assertEquals(s.lab().orElseThrow().operatorCert(), e.operatorCertificate());
        assertEquals(s.lab().orElseThrow().operatorKey(), e.operatorKey());
        assertEquals(anchor, s.current().trustAnchor(), "the saved settings themselves are left as they are");
    }

    @Test
    void withoutTheVariableOrTheFileThereIsNoLab(@TempDir Path tmp) throws Exception {
        assertTrue(new SettingsServiceImpl(tmp.resolve("a"), Map.of()).lab().isEmpty());
        SettingsServiceImpl noFile = new SettingsServiceImpl(tmp.resolve("b"), Map.of(LabConnection.ENV,
                tmp.resolve("nothing-here").toString()));
        assertTrue(noFile.lab().isEmpty());
        assertNull(noFile.effective().operatorCertificate());
    }

    @Test
    void anUnusableLabFileIsRefusedWithTheFileAndTheFix(@TempDir Path tmp) throws Exception {
        Path lab = writeLab(tmp.resolve("lab"), "\"operator\":{}");
        SettingsException e = assertThrows(SettingsException.class, () -> LabConnection.read(lab));
        assertEquals("the lab description " + lab.resolve(LabConnection.FILE) + " is not usable: the operator's"
                + " certificate, key or CA is missing; restart the lab with './sealift lab'", e.getMessage());
    }
}
