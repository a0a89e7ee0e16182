import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.Deadlines;
import org.sealift.agent.engine.DestinationMigration;
import org.sealift.agent.engine.EngineConfig;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.xen.XenBackend;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

/**
 * A probe of the two-host migration: Sealift's pre-copy engine (plain mode) moving a real PVH guest from the Xen host
 * A to the Xen host B over a TCP connection between their dom0s, with XenBackend on both sides. No agent daemon, no
 * CLI, no TLS channel, no attestation: only what the engine and the backend do with real Xen underneath. Prints
 * {@code SEALIFT-XEN-RESULT suite=migrate-<role> ...} lines; two-hosts runs it as a probe (docs/xen-testing.md).
 *
 * <p>usage: XenMigrate source|destination PEER_OR_BIND_ADDRESS SHIM GUEST_ELF GUEST_CMDLINE TEMPLATE_JSON
 */
public final class XenMigrate {

    private static final int PORT = 7100;
    private static final DomainConfig GUEST = new DomainConfig("sealift-migrant", 32, 1, List.of(), null);

    /**
     * The engine's deadlines (handshake 10 s, ...) are meant for real hosts; under double emulation a first run
     * missed the 10 s handshake deadline, so the probe allows two minutes for each.
     */
    private static final EngineConfig ENGINE = EngineConfig.DEFAULTS.withDeadlines(Deadlines.all(Duration.ofSeconds(120)));

    private static String suite;

    private static void result(String name, boolean ok, String detail) {
        System.out.println("SEALIFT-XEN-RESULT suite=" + suite + " name=" + name + " ok=" + (ok ? 1 : 0) + " detail="
                + detail.replace('\n', ' '));
        System.out.flush();
    }

    private static int heartbeat(XenBackend xen, int dom) throws HypervisorException {
        try (GuestMemory mem = xen.mapGuestMemory(dom, false)) {
            ByteBuffer page = ByteBuffer.allocate(4096);
            mem.read(0x101, 1, page);
            return page.flip().order(ByteOrder.LITTLE_ENDIAN).getInt(16);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: XenMigrate source|destination ADDRESS SHIM GUEST_ELF GUEST_CMDLINE TEMPLATE_JSON");
            System.exit(2);
        }
        boolean source = args[0].equals("source");
        suite = "migrate-" + (source ? "source" : "destination");
        XenBackend.Options options = new XenBackend.Options(Optional.of(Path.of(args[2])), "pvh",
                Optional.of(Path.of(args[5])), Optional.of(args[3]), Optional.of(args[4]));
        try (XenBackend xen = XenBackend.open(options)) {
            if (source) {
                source(xen, args[1]);
            } else {
                destination(xen, args[1]);
            }
        } catch (HypervisorException | IOException | RuntimeException e) {
            result("run", false, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static void source(XenBackend xen, String peer) throws Exception {
        int dom = xen.createDomain(GUEST).domId();
        xen.resume(dom);
        int hb = 0;
        for (int i = 0; i < 600 && hb == 0; i++) {
            Thread.sleep(100);
            hb = heartbeat(xen, dom);
        }
        DomainInfo info = xen.domainInfo(dom);
        result("guest-runs", hb > 0, "domain " + dom + " hb=" + hb + " pages=" + info.pageCount());
        SocketChannel socket = null;
        for (int i = 0; i < 120 && socket == null; i++) {
            try {
                socket = SocketChannel.open(new InetSocketAddress(peer, PORT));
            } catch (IOException notYet) {
                Thread.sleep(1000);
            }
        }
        if (socket == null) {
            result("migrate", false, "no destination listening at " + peer + ":" + PORT);
            return;
        }
        try (Transport t = ChannelTransport.of(socket)) {
            MigrationOptions o = new MigrationOptions(MigrationMode.PLAIN, 8, 64, 300, 100,
                    MigrationOptions.DEFAULT_MAX_SENT_FACTOR);
            MigrationResult r = new SourceMigration(xen, dom, Optional.empty(), t, o, ENGINE, List.of())
                    .run();
            result("migrate", r.committed(), "outcome=" + r.summary().outcome() + " reason=" + r.summary().reason()
                    + " rounds=" + r.summary().rounds());
        }
        boolean gone;
        try {
            xen.domainInfo(dom);
            gone = false;
        } catch (HypervisorException e) {
            gone = e.reason() == HypervisorException.Reason.NOT_FOUND;
        }
        result("source-gone", gone, "source domain " + dom + (gone ? " destroyed after the commit" : " still exists"));
    }

    private static void destination(XenBackend xen, String bind) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(bind, PORT));
            result("listening", true, bind + ":" + PORT);
            try (Transport t = ChannelTransport.of(server.accept())) {
                MigrationResult r = new DestinationMigration(xen, GUEST, Optional.empty(), t, MigrationMode.PLAIN,
                        ENGINE, List.of()).run();
                result("migrate", r.committed(), "outcome=" + r.summary().outcome() + " reason="
                        + r.summary().reason());
            }
        }
        DomainInfo d = xen.domainByName(GUEST.name());
        int hb0 = heartbeat(xen, d.domId());
        Thread.sleep(1500);
        int hb1 = heartbeat(xen, d.domId());
        result("guest-runs-here", hb1 > hb0, "domain " + d.domId() + " state=" + xen.domainInfo(d.domId()).state()
                + " heartbeat " + hb0 + " -> " + hb1);
    }
}
