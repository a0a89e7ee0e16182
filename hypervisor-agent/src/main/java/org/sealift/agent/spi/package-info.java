/**
 * The HypervisorBackend SPI: everything the agent (dom0's migration tool) may ask of the hypervisor on its host.
 * Implemented by the simulated hypervisor ({@code org.sealift.agent.sim}) and by the Xen path.
 *
 * <p>The trust boundary is this package's boundary: every type here is what an untrusted dom0 may hold. Protected
 * page contents, vCPU contexts of protected VMs, process keys and the attestation key never appear in these types;
 * protected data crosses only as {@link org.sealift.agent.spi.SealedBatch sealed records} and
 * {@link org.sealift.agent.spi.ProtocolMessage protocol messages} (opaque bytes plus public header fields) that only
 * a peer hypervisor can open. Every call that could break G1–G5 (PROTOCOL.md) is checked by the hypervisor behind
 * the interface, never by the caller, so tests play a malicious dom0 through this same interface.
 */
package org.sealift.agent.spi;
