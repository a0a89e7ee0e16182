package org.sealift.console.core.inventory;

import java.util.List;

/**
 * Where the inventory comes from: the agent client implements this over each agent's management API (mutual TLS),
 * and registers it as an OSGi service; the {@link InventoryService} then loads from it in the background. Calls
 * block (network) and are never made on the UI thread. Implementations must be thread-safe.
 */
public interface InventorySource {

    /** The agents to show, from the console settings. */
    List<AgentRef> agents();

    /** {@code GET /v1/host} of one agent. */
    HostNode host(AgentRef agent) throws AgentException;

    /** The VMs on the agent's host. */
    List<VmNode> vms(AgentRef agent) throws AgentException;

    /** The protected processes in one VM. */
    List<ProtectedProcessNode> processes(AgentRef agent, String vmId) throws AgentException;
}
