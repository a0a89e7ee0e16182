package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.PfnRange;
import org.sealift.agent.spi.PlainMigration;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;

/** Domain lifecycle through XenBackend, JNA, the shim and fakexen, and how shim errors reach Java. */
class XenDomainTest {

    private static final int EBUSY = 16;

    @TempDir
    Path tmp;
    private FakeXen host;
    private XenBackend xen;

    @BeforeEach
    void open() throws Exception {
        host = FakeXen.init(tmp.resolve("host"), FakeXen.UNPATCHED);
        xen = host.open();
    }

    @AfterEach
    void close() {
        xen.close();
    }

    private static DomainConfig config(String name) {
        return new DomainConfig(name, 16, 2, List.of(), WorkloadSpec.idle(0));
    }

    @Test
    void aCreatedDomainIsPausedAndReportsItsConfiguration() throws Exception {
        DomainInfo d = xen.createDomain(config("web-1"));
        assertTrue(d.domId() > 0, "a guest, not dom0: " + d.domId());
        assertEquals("web-1", d.name());
        assertEquals(16, d.config().memoryMiB());
        assertEquals(16 * 256, d.pageCount());
        assertEquals(2, d.config().vcpus());
        assertEquals(DomainState.PAUSED, d.state());
        assertFalse(d.dirtyLogging());
        assertEquals(d.domId(), xen.domainByName("web-1").domId());
        assertEquals(List.of(d.domId()), xen.listDomains().stream().map(DomainInfo::domId).toList(),
                "only the guest: dom0 runs the agent and is not listed");
    }

    @Test
    void pauseFreezesTheGuestAndResumeLetsItRun() throws Exception {
        int dom = xen.createDomain(config("runner")).domId();
        assertEquals(EBUSY, -host.guestWrite(dom, 0, new byte[] {1}), "a created domain does not run");
        xen.resume(dom);
        assertEquals(DomainState.RUNNING, xen.domainInfo(dom).state());
        assertEquals(0, host.guestWrite(dom, 0, new byte[] {1}));
        xen.resume(dom); // resuming a running domain changes nothing
        assertEquals(DomainState.RUNNING, xen.domainInfo(dom).state());
        xen.pause(dom);
        xen.pause(dom); // a second pause does not nest: one resume runs it again
        assertEquals(DomainState.PAUSED, xen.domainInfo(dom).state());
        assertEquals(EBUSY, -host.guestWrite(dom, 0, new byte[] {2}), "paused: the guest no longer writes memory");
        xen.resume(dom);
        assertEquals(DomainState.RUNNING, xen.domainInfo(dom).state());
    }

    @Test
    void destroyRemovesTheDomainAndLaterCallsCarryTheShimsMessage() throws Exception {
        int dom = xen.createDomain(config("gone")).domId();
        xen.destroyDomain(dom);
        XenException e = assertThrows(XenException.class, () -> xen.domainInfo(dom));
        assertEquals(Reason.NOT_FOUND, e.reason());
        assertEquals(3, e.errno(), "ESRCH");
        assertEquals("slx_domain_info_get", e.function());
        assertTrue(e.getMessage().contains("domain " + dom) && e.getMessage().contains("(ESRCH)")
                && e.getMessage().contains("xl list"), e.getMessage());
        XenException again = assertThrows(XenException.class, () -> xen.destroyDomain(dom));
        assertEquals(Reason.NOT_FOUND, again.reason());
        assertTrue(xen.listDomains().isEmpty());
        HypervisorException byName = assertThrows(HypervisorException.class, () -> xen.domainByName("gone"));
        assertEquals(Reason.NOT_FOUND, byName.reason());
    }

    @Test
    void domainZeroIsNeitherDestroyedNorMigrated() throws Exception {
        XenException e = assertThrows(XenException.class, () -> xen.destroyDomain(0));
        assertEquals(Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("refusing to destroy domain 0"), e.getMessage());
        assertEquals(Reason.REFUSED, assertThrows(HypervisorException.class, () -> xen.beginPlainMigration(0))
                .reason());
    }

    @Test
    void aSecondDomainWithTheSameNameIsRefused() throws Exception {
        int first = xen.createDomain(config("twin")).domId();
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.createDomain(config("twin")));
        assertEquals(Reason.ALREADY_EXISTS, e.reason());
        assertTrue(e.getMessage().contains("domain " + first), e.getMessage());
    }

    @Test
    void protectedProcessesCannotBeCreatedThroughTheShim() {
        DomainConfig c = new DomainConfig("vaulted", 16, 1,
                List.of(new ProtectedProcessSpec("vault", List.of(new PfnRange(100, 16)))), WorkloadSpec.idle(0));
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.createDomain(c));
        assertEquals(Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("vault") && e.getMessage().contains("protection module"), e.getMessage());
    }

    @Test
    void aShimErrorKeepsXensOwnExplanation() throws Exception {
        int dom = xen.createDomain(config("twice")).domId();
        xen.enableDirtyLogging(dom);
        XenException e = assertThrows(XenException.class, () -> xen.enableDirtyLogging(dom));
        assertEquals(22, e.errno(), "EINVAL");
        assertEquals(Reason.INVALID_ARGUMENT, e.reason());
        assertTrue(e.getMessage().contains("enabling log-dirty mode of domain " + dom), e.getMessage());
        assertTrue(e.getMessage().contains("disable it first"), "the shim's fix: " + e.getMessage());
        assertTrue(e.getMessage().contains("[xen said:"), "what the Xen library logged: " + e.getMessage());
    }

    @Test
    void thePlainMigrationLockIsHeldOnceAndACommittedSourceNeverResumes() throws Exception {
        int dom = xen.createDomain(config("mover")).domId();
        PlainMigration m = xen.beginPlainMigration(dom);
        assertEquals(m.id(), xen.domainInfo(dom).migration().orElseThrow());
        assertEquals(Reason.LOCKED, assertThrows(HypervisorException.class, () -> xen.beginPlainMigration(dom))
                .reason());
        assertEquals(Reason.LOCKED, assertThrows(HypervisorException.class, () -> xen.destroyDomain(dom)).reason());
        assertEquals(1, xen.decisions().size());
        m.finish(true);
        assertEquals(DomainState.MIGRATED_AWAY, xen.domainInfo(dom).state());
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.resume(dom));
        assertEquals(Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("two copies"), e.getMessage());
        assertEquals(EBUSY, -host.guestWrite(dom, 0, new byte[] {1}), "still paused");
        assertEquals(Reason.NOT_FOUND, assertThrows(HypervisorException.class, () -> m.finish(true)).reason());
        xen.destroyDomain(dom);
        assertTrue(xen.listDomains().isEmpty());
    }

    @Test
    void anAbortedPlainMigrationLeavesTheVmFreeToResume() throws Exception {
        int dom = xen.createDomain(config("stayer")).domId();
        xen.beginPlainMigration(dom).finish(false);
        xen.resume(dom);
        assertEquals(DomainState.RUNNING, xen.domainInfo(dom).state());
        xen.beginPlainMigration(dom); // the lock was released
    }

    @Test
    void theOperatorsTemplateSuppliesWhatADomainConfigDoesNotKnow() throws Exception {
        Path template = tmp.resolve("guest.json");
        Files.writeString(template, "{\"c_info\": {\"type\": \"hvm\", \"name\": \"template-name\"},"
                + " \"b_info\": {\"max_memkb\": 999996, \"kernel\": \"/old.elf\", \"cmdline\": \"wss=4M\"},"
                + " \"disks\": [{\"pdev_path\": \"/dev/vg/guest\", \"vdev\": \"xvda\"}]}");
        XenBackend.Options options = XenBackend.Options.fromSettings(Map.of("xen.template", template.toString(),
                "xen.kernel", "/usr/lib/sealift/guest.elf"));
        JsonNode json = new ObjectMapper().readTree(LibxlConfig.toJson(config("from-template"), options));
        assertEquals("hvm", json.at("/c_info/type").asText(), "the template's type stays");
        assertEquals("from-template", json.at("/c_info/name").asText());
        assertEquals(16 * 1024, json.at("/b_info/max_memkb").asLong(), "memory is always Sealift's");
        assertEquals(2, json.at("/b_info/max_vcpus").asInt());
        assertEquals("/usr/lib/sealift/guest.elf", json.at("/b_info/kernel").asText());
        assertEquals("wss=4M", json.at("/b_info/cmdline").asText());
        assertEquals("/dev/vg/guest", json.at("/disks/0/pdev_path").asText(), "devices come from the template");

        try (XenBackend templated = host.open(options)) {
            DomainInfo d = templated.createDomain(config("from-template"));
            assertEquals(16 * 256, d.pageCount(), "the fake libxl built the domain from Sealift's values");
        }
        Files.writeString(template, "[1, 2]");
        HypervisorException bad = assertThrows(HypervisorException.class,
                () -> LibxlConfig.toJson(config("x"), options));
        assertTrue(bad.getMessage().contains("xl -N create"), bad.getMessage());
    }

    @Test
    void aPvhDomainIsItsRamNotTheSpanUpToItsSpecialPages() throws Exception {
        int dom = xen.createDomain(config("pvh-1")).domId();
        host.pvhLayout(dom, FakeXen.PVH_SPECIAL_TOP);
        DomainInfo d = xen.domainInfo(dom);
        assertEquals(16, d.config().memoryMiB(), "RAM in MiB, not (max_gpfn + 1) pages");
        assertEquals(16 * 256, d.pageCount());
        xen.enableDirtyLogging(dom);
        assertEquals(16 * 256, xen.readDirtyLog(dom, true).pageCount(), "the bitmap covers the RAM");
        try (GuestMemory m = xen.mapGuestMemory(dom, false)) {
            assertEquals(16 * 256, m.pageCount());
            ByteBuffer all = ByteBuffer.allocate(16 * 256 * 4096);
            m.read(0, 16 * 256, all); // every RAM frame maps
        }
        assertEquals(16 * 256, xen.protectedPages(dom).pageCount());
        xen.beginPlainMigration(dom).finish(false);
    }

    @Test
    void aPvhDomainWithFramesAbove4GiBIsRefusedForPlainMigration() throws Exception {
        int dom = xen.createDomain(config("big")).domId();
        host.pvhLayout(dom, 0x10_0000 + 0xfff);
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.beginPlainMigration(dom));
        assertEquals(Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("above 4 GiB") && e.getMessage().contains("xl migrate"), e.getMessage());
        assertTrue(xen.domainInfo(dom).migration().isEmpty(), "no lock was taken");
    }

    @Test
    void withoutATemplateTheConfigurationCarriesLibxlsBuildInfoUnionForItsType() throws Exception {
        JsonNode json = new ObjectMapper().readTree(LibxlConfig.toJson(config("bare"), XenBackend.Options.defaults()));
        assertEquals("pvh", json.at("/c_info/type").asText());
        assertTrue(json.at("/b_info/type.pvh").isObject(), "b_info's union member: " + json);
        assertEquals(16, xen.createDomain(config("bare")).config().memoryMiB(), "the fake libxl built it");

        // a template of another type, overridden by xen.domain-type: its union member goes with its type
        Path template = tmp.resolve("hvm.json");
        Files.writeString(template, "{\"c_info\": {\"type\": \"hvm\"}, \"b_info\": {\"type.hvm\": {\"acpi\": \"True\"}}}");
        XenBackend.Options pvh = XenBackend.Options.fromSettings(Map.of("xen.template", template.toString(),
                "xen.domain-type", "pv"));
        JsonNode over = new ObjectMapper().readTree(LibxlConfig.toJson(config("over"), pvh));
        assertEquals("pv", over.at("/c_info/type").asText());
        assertTrue(over.at("/b_info/type.pv").isObject() && over.at("/b_info/type.hvm").isMissingNode(), "" + over);
        // the template's own member of its own type is kept
        JsonNode kept = new ObjectMapper().readTree(LibxlConfig.toJson(config("kept"),
                XenBackend.Options.fromSettings(Map.of("xen.template", template.toString()))));
        assertEquals("True", kept.at("/b_info/type.hvm/acpi").asText());

        // what libxl does with a configuration that lacks the member
        XenShim shim = XenShimLoader.load(java.util.Optional.empty());
        com.sun.jna.ptr.PointerByReference h = new com.sun.jna.ptr.PointerByReference();
        synchronized (FakeXen.class) {
            host.check(FakeXen.api().fakexen_use_host(host.dir.toString()), "use host");
            try {
                assertEquals(0, shim.slx_open(h));
            } finally {
                FakeXen.api().fakexen_use_host(null);
            }
        }
        try {
            int rc = shim.slx_domain_create(h.getValue(), "{\"c_info\": {\"type\": \"pvh\", \"name\": \"x\"},"
                    + " \"b_info\": {\"max_memkb\": 16384}}", new com.sun.jna.ptr.IntByReference());
            assertTrue(rc < 0, "refused: " + rc);
            assertTrue(shim.slx_last_error().contains("Unable to set domain build info defaults"),
                    shim.slx_last_error());
        } finally {
            shim.slx_close(h.getValue());
        }
    }

    @Test
    void aClosedBackendRefusesCalls() throws Exception {
        xen.close();
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.listDomains());
        assertEquals(Reason.UNAVAILABLE, e.reason());
        xen.close(); // idempotent
    }
}
