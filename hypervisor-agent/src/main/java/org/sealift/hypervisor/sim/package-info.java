/**
 * The simulated Xen hypervisor with CHAOS/Overshadow-style protected processes: its own process per host
 * ({@link org.sealift.hypervisor.sim.SimHypervisorMain}). Everything trusted lives here and only here: process keys,
 * plaintext of protected pages and vCPU contexts, page versions, the endorsement and attestation keys, the session keys
 * of secure migrations and the sealed decision state. dom0's agent reaches it only through the privileged socket
 * ({@code org.sealift.agent.sim}) and the shared guest-memory files, which hold ciphertext for protected pages.
 * Agent code never imports this package.
 */
package org.sealift.hypervisor.sim;
