package org.sealift.agent.daemon;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.sealift.agent.api.AgentRoutes;
import org.sealift.agent.api.ApiException;
import org.sealift.agent.api.ApiRequest;
import org.sealift.agent.api.ApiResponse;
import org.sealift.agent.api.EventHub;
import org.sealift.agent.api.Router;
import org.sealift.agent.daemon.HostAgent.InDoubtView;
import org.sealift.agent.daemon.HostAgent.MigrateRequest;
import org.sealift.agent.daemon.MigrationRun.MigrationView;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainInfo;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.LogHead;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.AttestationLog;
import org.sealift.protocol.attest.Challenge;
import org.sealift.protocol.attest.LogEntry;
import org.sealift.protocol.attest.LogVerifier;
import org.sealift.protocol.attest.SignedHead;
import org.sealift.protocol.attest.SignedRecord;
import org.sealift.protocol.attest.VerificationResult;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.FenceBundle;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.SignedPolicy;
import org.sealift.protocol.token.Token;
import org.sealift.protocol.token.TokenFile;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The management API's resources over a running {@link HostAgent} (docs/api.md lists them with curl examples).
 * Every refusal is an {@link ApiException} naming the problem and the fix, and changes nothing.
 */
public final class DaemonRoutes {

    private DaemonRoutes() {
    }

    public static Router create(HostAgent agent, EventHub events) {
        return AgentRoutes.create(agent, events)
                .add("GET", "/v1/vms", req -> ApiResponse.ok(vms(agent)))
                .add("POST", "/v1/vms", req -> ApiResponse.created(createVm(agent, req)))
                .add("GET", "/v1/vms/{name}", req -> ApiResponse.ok(view(domain(agent, req.pathParam("name")))))
                .add("DELETE", "/v1/vms/{name}", req -> ApiResponse.ok(destroyVm(agent, req)))
                .add("POST", "/v1/vms/{name}/start", req -> ApiResponse.ok(startOrPause(agent, req, true)))
                .add("POST", "/v1/vms/{name}/pause", req -> ApiResponse.ok(startOrPause(agent, req, false)))
                .add("POST", "/v1/migrations", req -> ApiResponse.accepted(agent.startMigration(
                        req.body(MigrateRequest.class, "the migration request"), req.caller().name())
                        .view(agent.hostId())))
                .add("GET", "/v1/migrations", req -> ApiResponse.ok(migrations(agent, req)))
                .add("GET", "/v1/migrations/{id}", req -> ApiResponse.ok(agent.migration(req.pathParam("id"))
                        .view(agent.hostId())))
                .add("POST", "/v1/migrations/{id}/cancel", req -> ApiResponse.accepted(agent.cancel(
                        req.pathParam("id")).view(agent.hostId())))
                .add("GET", "/v1/in-doubt", req -> ApiResponse.ok(agent.inDoubt()))
                .add("GET", "/v1/in-doubt/{id}/token", req -> ApiResponse.ok(exportToken(agent, req)))
                .add("POST", "/v1/in-doubt/{id}/token", req -> ApiResponse.ok(importToken(agent, req)))
                .add("POST", "/v1/in-doubt/{id}/fence", req -> ApiResponse.ok(importFence(agent, req)))
                .add("GET", "/v1/attestations", req -> ApiResponse.ok(attestations(agent, req)))
                .add("GET", "/v1/attestations/{index}", req -> ApiResponse.ok(attestation(agent, req)))
                .add("POST", "/v1/attestations/verify", req -> ApiResponse.ok(verify(agent, req)));
    }

    // ---- VMs ----------------------------------------------------------------------------------------------------

    /** A VM as dom0 may know it: public configuration and state, never protected contents. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record VmView(String name, int domId, String state, int memoryMiB, int vcpus, List<ProcessView> protectedProcesses,
            String migration, boolean dirtyLogging, VmSpec.Workload workload) {
    }

    record ProcessView(String name, long pages) {
    }

    static VmView view(DomainInfo d) {
        DomainConfig c = d.config();
        List<ProcessView> procs = new ArrayList<>();
        for (ProtectedProcessSpec p : c.protectedProcesses()) {
            procs.add(new ProcessView(p.name(), p.pageCount()));
        }
        WorkloadSpec w = c.workload();
        return new VmView(d.name(), d.domId(), d.state().name(), c.memoryMiB(), c.vcpus(), procs,
                d.migration().map(Object::toString).orElse(null), d.dirtyLogging(),
                new VmSpec.Workload(w.fillPercent(), w.normalWorkingSetPages(), w.normalDirtyPagesPerSecond(),
                        w.protectedWorkingSetPages(), w.protectedDirtyPagesPerSecond(), w.seed(), null));
    }

    private static List<VmView> vms(HostAgent agent) {
        try {
            List<VmView> out = new ArrayList<>();
            for (DomainInfo d : agent.backend().listDomains()) {
                out.add(view(d));
            }
            return out;
        } catch (HypervisorException e) {
            throw refusal(agent, e, "list its VMs");
        }
    }

    private static DomainInfo domain(HostAgent agent, String name) {
        try {
            return agent.backend().domainByName(name);
        } catch (HypervisorException e) {
            if (e.reason() == HypervisorException.Reason.NOT_FOUND) {
                throw ApiException.notFound("there is no VM " + name + " on host " + agent.hostId()
                        + "; 'GET /v1/vms' lists this host's VMs");
            }
            throw refusal(agent, e, "look up VM " + name);
        }
    }

    private static VmView createVm(HostAgent agent, ApiRequest req) {
        VmSpec spec = req.body(VmSpec.class, "the VM");
        DomainConfig config;
        try {
            config = spec.toDomainConfig();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_field", e.getMessage());
        }
        HypervisorBackend b = agent.backend();
        try {
            DomainInfo d = b.createDomain(config);
            if (spec.start() == null || spec.start()) {
                b.resume(d.domId());
            }
            return view(b.domainInfo(d.domId()));
        } catch (HypervisorException e) {
            throw refusal(agent, e, "create VM " + config.name());
        }
    }

    private static Map<String, String> destroyVm(HostAgent agent, ApiRequest req) {
        DomainInfo d = domain(agent, req.pathParam("name"));
        try {
            agent.backend().destroyDomain(d.domId());
            return Map.of("destroyed", d.name(), "host", agent.hostId());
        } catch (HypervisorException e) {
            throw refusal(agent, e, "destroy VM " + d.name());
        }
    }

    private static VmView startOrPause(HostAgent agent, ApiRequest req, boolean start) {
        DomainInfo d = domain(agent, req.pathParam("name"));
        try {
            if (start) {
                agent.backend().resume(d.domId());
            } else {
                agent.backend().pause(d.domId());
            }
            return view(agent.backend().domainInfo(d.domId()));
        } catch (HypervisorException e) {
            throw refusal(agent, e, (start ? "start" : "pause") + " VM " + d.name());
        }
    }

    static ApiException refusal(HostAgent agent, HypervisorException e, String what) {
        String msg = "the hypervisor of host " + agent.hostId() + " refused to " + what + ": " + e.getMessage();
        return switch (e.reason()) {
            case NOT_FOUND -> ApiException.notFound(msg);
            case INVALID_ARGUMENT -> ApiException.badRequest("invalid_field", msg);
            case ALREADY_EXISTS -> ApiException.conflict("already_exists", msg);
            case LOCKED -> ApiException.conflict("vm_locked", msg);
            case PROTECTED_VM -> ApiException.conflict("protected_vm", msg);
            case STATE_IN_DOUBT -> ApiException.conflict("state_in_doubt", msg);
            case NOT_ENROLLED -> ApiException.conflict("not_enrolled", msg);
            case UNAVAILABLE -> ApiException.unavailable("hypervisor_unreachable", msg);
            default -> ApiException.conflict("refused", msg);
        };
    }

    // ---- migrations ---------------------------------------------------------------------------------------------

    private static List<MigrationView> migrations(HostAgent agent, ApiRequest req) {
        int limit = (int) req.queryLong("limit", 100, 1000);
        List<MigrationView> out = new ArrayList<>();
        for (MigrationRun r : agent.migrations()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(r.view(agent.hostId()));
        }
        return out;
    }

    // ---- in doubt -----------------------------------------------------------------------------------------------

    record TokenView(String migrationId, String kind, String file) {
    }

    record TokenImport(String token) {
    }

    record FenceImport(String fence) {
    }

    record DecisionView(String migrationId, String role, String vm, String state, boolean inDoubt, String detail) {
        static DecisionView of(MigrationDecision d) {
            return new DecisionView(d.id().toString(), d.role().name().toLowerCase(Locale.ROOT), d.vmName(),
                    d.state().name(), d.inDoubt(), d.detail());
        }
    }

    private static MigrationId migrationId(ApiRequest req) {
        try {
            return MigrationId.parse(req.pathParam("id"));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_parameter", e.getMessage());
        }
    }

    private static TokenView exportToken(HostAgent agent, ApiRequest req) {
        MigrationId id = migrationId(req);
        String k = req.queryParam("kind").orElseThrow(() -> ApiException.badRequest("invalid_parameter",
                "query parameter 'kind' is missing: use kind=release, kind=abort or kind=done"));
        TokenKind kind;
        try {
            kind = TokenKind.valueOf(k.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_parameter", "kind '" + k + "' is unknown: use release, abort or"
                    + " done");
        }
        try {
            byte[] t = agent.backend().exportToken(id, kind);
            List<X509Certificate> chain = Certificates.parseChain(agent.backend().identity().attestationChain());
            return new TokenView(id.toString(), kind.name(), new TokenFile(Token.decode(t), chain).toText());
        } catch (HypervisorException e) {
            throw refusal(agent, e, "export the " + kind + " token of migration " + id);
        } catch (ProtocolException e) {
            throw new ApiException(500, "internal", "the hypervisor's token does not parse: " + e.getMessage());
        }
    }

    private static DecisionView importToken(HostAgent agent, ApiRequest req) {
        MigrationId id = migrationId(req);
        TokenImport body = req.body(TokenImport.class, "the token import");
        if (body.token() == null) {
            throw ApiException.badRequest("invalid_field", "field 'token' is missing: give the text of the token"
                    + " file exported by the peer");
        }
        Token token;
        try {
            token = TokenFile.parse(body.token()).token();
        } catch (ProtocolException e) {
            throw ApiException.badRequest("invalid_field", "the token file does not parse: " + e.getMessage());
        }
        if (!MigrationId.of(token.migrationId().bytes()).equals(id)) {
            throw ApiException.badRequest("invalid_field", "the token is for migration "
                    + MigrationId.of(token.migrationId().bytes()) + ", not " + id);
        }
        MigrationDecision before;
        try {
            before = agent.decision(id).orElse(null);
        } catch (HypervisorException e) {
            before = null;
        }
        try {
            MigrationDecision after = agent.backend().importToken(token.encode());
            agent.afterTokenImport(before, after);
            return DecisionView.of(after);
        } catch (HypervisorException e) {
            throw refusal(agent, e, "import the " + token.kind() + " token of migration " + id);
        }
    }

    private static DecisionView importFence(HostAgent agent, ApiRequest req) {
        MigrationId id = migrationId(req);
        FenceImport body = req.body(FenceImport.class, "the fence import");
        if (body.fence() == null) {
            throw ApiException.badRequest("invalid_field", "field 'fence' is missing: give the text of the file"
                    + " written by 'sealift ca fence'");
        }
        FenceBundle bundle;
        try {
            bundle = FenceBundle.fromPem(body.fence());
        } catch (ProtocolException e) {
            throw ApiException.badRequest("invalid_field", "the fence file does not parse: " + e.getMessage());
        }
        if (!java.util.Arrays.equals(bundle.fence().migrationId(), id.bytes())) {
            throw ApiException.badRequest("invalid_field", "the fence is for migration "
                    + Hex.encode(bundle.fence().migrationId()) + ", not " + id);
        }
        try {
            return DecisionView.of(agent.backend().importFence(bundle.fence().encoded(), bundle.policy().encoded()));
        } catch (HypervisorException e) {
            throw refusal(agent, e, "apply the fence for migration " + id);
        }
    }

    // ---- attestations -------------------------------------------------------------------------------------------

    record EntryView(long index, String hash, String previousHash, boolean signedBySource,
            boolean signedByDestination, Object record, String pem) {
    }

    record LogPage(String hostId, long size, long from, List<EntryView> entries) {
    }

    static EntryView entry(LogEntry e) {
        try {
            SignedRecord sr = e.record();
            return new EntryView(e.index(), Hex.encode(e.hash()), Hex.encode(e.previousHash()),
                    sr.hasSignature(org.sealift.protocol.attest.AttestationRecord.Side.SOURCE),
                    sr.hasSignature(org.sealift.protocol.attest.AttestationRecord.Side.DESTINATION),
                    org.sealift.agent.api.Json.mapper().readTree(sr.record().toJson()), sr.toPem());
        } catch (ProtocolException | IOException ex) {
            return new EntryView(e.index(), Hex.encode(e.hash()), Hex.encode(e.previousHash()), false, false,
                    "malformed: " + ex.getMessage(), null);
        }
    }

    private static LogPage attestations(HostAgent agent, ApiRequest req) {
        long from = req.queryLong("from", 0, Long.MAX_VALUE);
        int limit = (int) req.queryLong("limit", 50, 500);
        List<EntryView> out = new ArrayList<>();
        for (LogEntry e : agent.store().page(from, limit)) {
            out.add(entry(e));
        }
        return new LogPage(agent.hostId(), agent.store().size(), from, out);
    }

    private static EntryView attestation(HostAgent agent, ApiRequest req) {
        long index;
        try {
            index = Long.parseLong(req.pathParam("index"));
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_parameter", "'" + req.pathParam("index") + "' is not an entry"
                    + " index; use the number shown as the attestation id (h1#12 is entry 12 of h1)");
        }
        List<LogEntry> page = agent.store().page(index, 1);
        if (index < 0 || page.isEmpty()) {
            throw ApiException.notFound("the attestation log of host " + agent.hostId() + " has "
                    + agent.store().size() + " entries; there is no entry " + index);
        }
        return entry(page.get(0));
    }

    record VerifyRequest(String nonce) {
    }

    /**
     * What a verifier needs, and this agent's own check. The agent is untrusted: a verifier checks {@code log} and
     * {@code head} itself ('sealift verify --agent' does) with its own fresh {@code nonce}.
     */
    record VerifyAnswer(String hostId, long size, String log, String head, Map<String, String> akCertificates,
            String policy, Check agentCheck) {
    }

    record Check(boolean ok, List<String> failures, List<String> notes) {
    }

    private static VerifyAnswer verify(HostAgent agent, ApiRequest req) {
        byte[] nonce = null;
        if (req.rawBody().length > 0) {
            VerifyRequest v = req.body(VerifyRequest.class, "the verification request");
            if (v.nonce() != null) {
                try {
                    nonce = Hex.decode(v.nonce(), SignedHead.NONCE_BYTES, "nonce");
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest("invalid_field", "field 'nonce' must be " + SignedHead.NONCE_BYTES
                            + " bytes as hex (" + 2 * SignedHead.NONCE_BYTES + " digits): " + e.getMessage());
                }
            }
        }
        AttestationStore store = agent.store();
        AttestationLog log = store.snapshot();
        Map<String, String> aks = store.akCertificatesPem();
        String policyPem = agent.policyPem();
        Base64.Encoder b64 = Base64.getEncoder();
        String head = null;
        try {
            if (nonce != null) {
                head = b64.encodeToString(encodedHead(agent.backend().signLogHead(nonce)));
            }
        } catch (HypervisorException e) {
            throw refusal(agent, e, "sign its log head");
        }
        Check check;
        if (agent.trust() == null || policyPem == null) {
            check = new Check(false, List.of("this agent has no cluster trust or policy file to verify with"),
                    List.of());
        } else {
            try {
                List<X509Certificate> certs = new ArrayList<>();
                for (String pem : aks.values()) {
                    certs.addAll(Certificates.fromPem(pem));
                }
                LogVerifier verifier = new LogVerifier(agent.trust(), SignedPolicy.fromPem(policyPem), certs);
                Challenge c = verifier.challenge();
                SignedHead h = SignedHead.parse(encodedHead(agent.backend().signLogHead(c.nonce())));
                VerificationResult r = verifier.verify(log, h, c, null, agent.now());
                check = new Check(r.ok(), r.failures(), r.notes());
            } catch (IOException | ProtocolException | HypervisorException e) {
                check = new Check(false, List.of("the agent could not verify: " + e.getMessage()), List.of());
            }
        }
        return new VerifyAnswer(agent.hostId(), log.size(), b64.encodeToString(log.encoded()), head, aks, policyPem,
                check);
    }

    private static byte[] encodedHead(LogHead h) {
        byte[] signed = h.signed();
        byte[] sig = h.signature();
        byte[] out = java.util.Arrays.copyOf(signed, signed.length + sig.length);
        System.arraycopy(sig, 0, out, signed.length, sig.length);
        return out;
    }
}
