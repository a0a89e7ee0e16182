package org.sealift.console.agent.internal;

import java.util.ArrayList;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.inventory.HostNode;
import org.sealift.console.core.inventory.InventorySource;
import org.sealift.console.core.inventory.ProtectedProcessNode;
import org.sealift.console.core.inventory.VmNode;
import org.sealift.console.core.inventory.VmState;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The inventory from the agents' management API: {@code GET /v1/host}, {@code GET /v1/vms} and
 * {@code GET /v1/vms/{name}}. VMs are identified by name, as the API does. An agent that cannot be asked is an
 * {@link AgentException}, which the inventory shows as an unreachable host with the reason and a reconnect action.
 */
@Component(service = InventorySource.class)
public final class AgentInventorySource implements InventorySource {

    private AgentDirectory directory;

    /** For DS. */
    public AgentInventorySource() {
    }

    public AgentInventorySource(AgentDirectory directory) {
        this.directory = directory;
    }

    @Reference
    void bindDirectory(AgentDirectory d) {
        directory = d;
    }

    @Override
    public List<AgentRef> agents() {
        return directory.agents();
    }

    @Override
    public HostNode host(AgentRef agent) throws AgentException {
        AgentApi api = directory.api(agent);
        JsonNode h = api.get("/v1/host");
        String hostId = text(h, "hostId", agent.name());
        if (!hostId.equals(agent.name())) {
            // the TLS check already demands the agent's certificate name this host; an answer naming another is a
            // misbehaving agent, not a renamed host
            throw new AgentException(api.describe() + " reports host id '" + hostId + "' although its certificate"
                    + " names " + agent.name() + "; check the agent's host.id setting");
        }
        JsonNode cap = h.path("capacity");
        JsonNode health = h.path("health");
        List<String> problems = new ArrayList<>();
        health.path("problems").forEach(p -> problems.add(p.asText()));
        return HostNode.reachable(hostId, agent, text(h, "backend", ""), h.path("attested").asBoolean(false),
                text(h, "measurement", ""), text(h, "policy", ""), Math.max(0, cap.path("memoryMiB").asLong()),
                Math.max(0, cap.path("freeMemoryMiB").asLong()), Math.max(0, cap.path("vcpus").asInt()),
                Math.max(0, cap.path("vms").asInt()), text(health, "status", ""), problems);
    }

    @Override
    public List<VmNode> vms(AgentRef agent) throws AgentException {
        JsonNode list = directory.api(agent).get("/v1/vms");
        List<VmNode> out = new ArrayList<>();
        for (JsonNode v : list) {
            out.add(vm(agent.name(), v));
        }
        return out;
    }

    @Override
    public List<ProtectedProcessNode> processes(AgentRef agent, String vmId) throws AgentException {
        JsonNode v = directory.api(agent).get("/v1/vms/" + vmId);
        List<ProtectedProcessNode> out = new ArrayList<>();
        int i = 0;
        for (JsonNode p : v.path("protectedProcesses")) {
            // the API names protected processes and counts their pages; it has no guest pid (dom0 does not know
            // it), so the position in the VM's list stands in for it
            out.add(new ProtectedProcessNode(agent.name(), vmId, ++i, text(p, "name", ""),
                    Math.max(0, p.path("pages").asLong())));
        }
        return out;
    }

    static VmNode vm(String hostId, JsonNode v) {
        String name = text(v, "name", "");
        return new VmNode(hostId, name, name, state(v), Math.max(0, v.path("memoryMiB").asLong()),
                Math.max(0, v.path("vcpus").asInt()), v.path("protectedProcesses").size());
    }

    /** The API's domain states (docs/api.md, VMs) as the console shows them. */
    static VmState state(JsonNode v) {
        if (v.hasNonNull("migration")) {
            return VmState.MIGRATING; // held by a migration's lock, whatever the domain does meanwhile
        }
        return switch (text(v, "state", "")) {
            case "RUNNING" -> VmState.RUNNING;
            case "PAUSED" -> VmState.PAUSED;
            case "INCOMING", "RELEASED" -> VmState.MIGRATING;
            default -> VmState.STOPPED; // MIGRATED_AWAY, ZEROIZED
        };
    }

    static String text(JsonNode n, String field, String fallback) {
        JsonNode f = n.get(field);
        return f == null || f.isNull() ? fallback : f.asText();
    }
}
