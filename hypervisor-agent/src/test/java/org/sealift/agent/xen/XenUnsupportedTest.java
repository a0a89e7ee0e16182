package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;

/** What only Sealift's protection module inside the hypervisor could do is refused with the reason, never faked. */
class XenUnsupportedTest {

    @TempDir
    Path tmp;

    private static Map<String, Executable> protocolCalls(XenBackend xen) {
        MigrationId id = MigrationId.of(new byte[16]);
        DomainConfig cfg = new DomainConfig("remote", 16, 1, List.of(), WorkloadSpec.idle(0));
        Map<String, Executable> calls = new LinkedHashMap<>();
        calls.put("identity", xen::identity);
        calls.put("createEnrollmentRequest", xen::createEnrollmentRequest);
        calls.put("installAttestationCertificate", () -> xen.installAttestationCertificate(List.of(new byte[1])));
        calls.put("installClusterTrust", () -> xen.installClusterTrust(new byte[1]));
        calls.put("installPolicy", () -> xen.installPolicy(new byte[1]));
        calls.put("beginSecureSource", () -> xen.beginSecureSource(new SourceRequest(1, Optional.empty())));
        calls.put("openSecureDestination", () -> xen.openSecureDestination(DestinationRequest.of(cfg)));
        calls.put("sourceSession", () -> xen.sourceSession(id));
        calls.put("destinationSession", () -> xen.destinationSession(id));
        calls.put("exportToken", () -> xen.exportToken(id, TokenKind.RELEASE));
        calls.put("importToken", () -> xen.importToken(new byte[1]));
        calls.put("importFence", () -> xen.importFence(new byte[1], new byte[1]));
        calls.put("signAttestation", () -> xen.signAttestation(id, new byte[1]));
        calls.put("countersignAttestation", () -> xen.countersignAttestation(id, new byte[1]));
        calls.put("appendLogEntry", () -> xen.appendLogEntry(0, new byte[32], new byte[1]));
        calls.put("signLogHead", () -> xen.signLogHead(new byte[16]));
        calls.put("protectedMemoryDigest", () -> xen.protectedMemoryDigest(1));
        return calls;
    }

    @Test
    void onAnUnpatchedXenEveryProtocolCallIsRefusedNamingTheMissingModule() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("plain"), FakeXen.UNPATCHED);
        try (XenBackend xen = host.open()) {
            for (Map.Entry<String, Executable> c : protocolCalls(xen).entrySet()) {
                HypervisorException e = assertThrows(HypervisorException.class, c.getValue(), c.getKey());
                assertEquals(Reason.REFUSED, e.reason(), c.getKey());
                assertTrue(e.getMessage().contains("Sealift's protection module inside the hypervisor")
                        && e.getMessage().contains("this Xen is unpatched")
                        && e.getMessage().contains("use the sim backend for secure mode"), c.getKey() + ": "
                        + e.getMessage());
            }
        }
    }

    @Test
    void onAPatchedXenTheyAreRefusedBecauseTheShimHasNoCallForThem() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("patched"), FakeXen.PATCHED);
        try (XenBackend xen = host.open()) {
            for (Map.Entry<String, Executable> c : protocolCalls(xen).entrySet()) {
                HypervisorException e = assertThrows(HypervisorException.class, c.getValue(), c.getKey());
                assertEquals(Reason.REFUSED, e.reason(), c.getKey());
                assertTrue(e.getMessage().contains("the shim has no call for the rest of the protocol"), c.getKey()
                        + ": " + e.getMessage());
            }
        }
    }
}
