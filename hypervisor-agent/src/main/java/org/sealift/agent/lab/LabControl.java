package org.sealift.agent.lab;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.sealift.agent.api.ApiException;
import org.sealift.agent.api.ApiRequest;
import org.sealift.agent.api.ApiResponse;
import org.sealift.agent.api.ApiServer;
import org.sealift.agent.api.Router;
import org.sealift.agent.tls.TlsCredentials;
import org.sealift.agent.tls.TlsSetupException;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.ClusterCa;

/**
 * The lab control API: lets the console (or curl) crash and restart lab hosts of a lab that runs in another process.
 * It is the agents' management API server (Jetty, TLS 1.3, operator certificates of the lab CA only) on loopback,
 * presenting a TLS certificate the lab CA issues at start to the pseudo host {@value #HOST_ID}; its key stays in this
 * process's memory. The rogue host is refused: its hypervisor is another build, which a restart cannot bring back.
 */
final class LabControl implements AutoCloseable {

    /** The name in the control server's certificate, which clients pin as they pin an agent's host id. */
    static final String HOST_ID = "lab-control";

    static final String LAB = "/v1/lab";
    static final String CRASH = "/v1/lab/hosts/{host}/crash";
    static final String CRASH_AGENT = "/v1/lab/hosts/{host}/crash-agent";
    static final String RESTART = "/v1/lab/hosts/{host}/restart";

    private final Lab lab;
    private final ApiServer server;

    private LabControl(Lab lab, ApiServer server) {
        this.lab = lab;
        this.server = server;
    }

    /** Starts the control API on 127.0.0.1 with a fresh certificate from the lab CA in {@code caDir}. */
    static LabControl start(Lab lab, Path caDir, PrintStream progress) throws IOException, TlsSetupException {
        Clock clock = Clock.systemUTC();
        TlsCredentials own;
        try {
            ClusterCa ca = ClusterCa.load(caDir);
            KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            X509Certificate cert = ca.issueAgentTlsCertificate(HOST_ID, kp.getPublic(), clock.instant()
                    .minusSeconds(60), Duration.ofDays(30));
            own = TlsCredentials.of(List.of(cert, ca.certificate()), kp.getPrivate(), ca.certificate(), clock);
        } catch (ProtocolException | NoSuchAlgorithmException e) {
            throw new IOException("the lab CA in " + caDir + " cannot issue the lab control certificate: "
                    + e.getMessage(), e);
        }
        LabControl[] self = new LabControl[1];
        Router router = new Router()
                .add("GET", LAB, req -> ApiResponse.ok(self[0].view()))
                .add("POST", CRASH, req -> self[0].crash(req, true))
                .add("POST", CRASH_AGENT, req -> self[0].crash(req, false))
                .add("POST", RESTART, req -> self[0].restart(req));
        // restarting a host boots a hypervisor and an agent: minutes on a loaded machine, within one request
        ApiServer.Settings settings = new ApiServer.Settings(InetAddress.getLoopbackAddress(), 0, 64 * 1024,
                Duration.ofMinutes(10), 8, 16);
        ApiServer server = ApiServer.start(own, router, settings, clock, e -> progress.println(
                "lab control: refused a client: " + e.getMessage()));
        self[0] = new LabControl(lab, server);
        progress.println("lab: control API on " + self[0].url() + " (crash and restart lab hosts; lab operator"
                + " certificate)");
        return self[0];
    }

    String url() {
        return "https://127.0.0.1:" + server.port();
    }

    /** One lab host as the control API shows it. */
    record HostView(String host, boolean rogue, String agent, String hypervisor, String api, long agentPid,
            long hypervisorPid) {
    }

    /** {@code GET /v1/lab} and the body of every action's answer. */
    record LabView(String dir, List<HostView> hosts, String message) {
    }

    private LabView view() {
        return view("");
    }

    private LabView view(String message) {
        List<HostView> hosts = new ArrayList<>();
        for (Lab.HostState s : lab.hostStates()) {
            hosts.add(new HostView(s.host(), s.rogue(), s.agentAlive() ? "running" : "down", s.hypervisorAlive()
                    ? "running" : "down", s.agent().api(), s.agent().pid(), s.agent().hypervisorPid()));
        }
        return new LabView(lab.dir().toString(), hosts, message);
    }

    private Lab.HostState host(ApiRequest req, String action) {
        String h = req.pathParam("host");
        Lab.HostState s = lab.hostState(h).orElseThrow(() -> ApiException.notFound("this lab has no host '" + h
                + "'; its hosts are " + String.join(", ", lab.hostStates().stream().map(Lab.HostState::host)
                        .toList()) + " (GET " + LAB + " lists them)"));
        if (s.rogue()) {
            throw ApiException.conflict("rogue_host", "host " + h + " is the lab's rogue host: its hypervisor is"
                    + " another build that the lab starts only once, so it cannot " + action + " it; crash and"
                    + " restart " + String.join(", ", Lab.HOSTS) + " instead");
        }
        return s;
    }

    private ApiResponse crash(ApiRequest req, boolean wholeHost) throws Exception {
        Lab.HostState s = host(req, wholeHost ? "crash" : "crash the agent of");
        String h = s.host();
        if (s.down()) {
            throw ApiException.conflict("host_down", "host " + h + " is already down (agent and hypervisor); start"
                    + " it again with POST /v1/lab/hosts/" + h + "/restart");
        }
        if (!wholeHost && !s.agentAlive()) {
            throw ApiException.conflict("agent_down", "the agent of host " + h + " is already down; start it again"
                    + " with POST /v1/lab/hosts/" + h + "/restart");
        }
        if (!wholeHost && !s.hypervisorAlive()) {
            throw ApiException.conflict("hypervisor_down", "the hypervisor of host " + h + " is down; crash the"
                    + " whole host (POST /v1/lab/hosts/" + h + "/crash) and restart it");
        }
        String message;
        if (wholeHost) {
            lab.killHost(h);
            message = "host " + h + " crashed: its agent (pid " + s.agent().pid() + ") and its hypervisor (pid "
                    + s.agent().hypervisorPid() + ") were killed with SIGKILL; the VMs in its memory are lost, its"
                    + " sealed decision state stays on disk";
        } else {
            lab.stopAgent(h, true);
            message = "the agent of host " + h + " (pid " + s.agent().pid() + ") was killed with SIGKILL; its"
                    + " hypervisor and VMs keep running";
        }
        return ApiResponse.ok(view(message));
    }

    private ApiResponse restart(ApiRequest req) throws Exception {
        Lab.HostState s = host(req, "restart");
        String h = s.host();
        if (s.up()) {
            throw ApiException.conflict("host_running", "host " + h + " is running (agent pid " + s.agent().pid()
                    + ", hypervisor pid " + s.agent().hypervisorPid() + "); crash it first with POST /v1/lab/hosts/"
                    + h + "/crash or /crash-agent");
        }
        String message;
        try {
            if (!s.hypervisorAlive()) {
                if (s.agentAlive()) {
                    lab.stopAgent(h, true); // an agent without its hypervisor: the host is restarted as a whole
                }
                LabInfo.Agent a = lab.restartHost(h);
                message = "host " + h + " restarted: its hypervisor booted from its sealed state (pid "
                        + a.hypervisorPid() + ") and its agent (pid " + a.pid() + ") serves " + a.api();
            } else {
                LabInfo.Agent a = lab.startAgentAgain(h);
                message = "the agent of host " + h + " restarted (pid " + a.pid() + ") and reattached to its"
                        + " hypervisor; it serves " + a.api();
            }
        } catch (Lab.LabException | IllegalStateException e) {
            throw ApiException.unavailable("restart_failed", "host " + h + " did not start again: " + e.getMessage()
                    + "; the logs are in " + lab.dir().resolve("hosts").resolve(h));
        }
        return ApiResponse.ok(view(message));
    }

    @Override
    public void close() {
        server.close();
    }
}
