package org.sealift.agent.spi;

import java.util.List;

/**
 * What dom0's agent may ask of the hypervisor on its host: the simulated hypervisor process and the real Xen path
 * implement it. Everything that could break G1–G5 is checked behind this interface, by the hypervisor; an agent (or
 * a malicious dom0 in tests) can only be refused. Implementations are thread-safe: the engine calls from several
 * threads. {@link #close()} detaches the agent; the hypervisor and its domains keep running.
 */
public interface HypervisorBackend extends AutoCloseable {

    // ---- identity and enrollment ------------------------------------------------------------------------------

    /** Host id, measurement, EK chain, AK chain once enrolled, newest policy serial. */
    HostIdentity identity() throws HypervisorException;

    /**
     * A CSR for the attestation key, endorsed by the endorsement key (pki library format). The AK is generated
     * inside the hypervisor on first use and never leaves it; the CSR carries its public key and the measurement.
     */
    byte[] createEnrollmentRequest() throws HypervisorException;

    /**
     * Installs the AK certificate chain issued by the cluster CA (leaf first, CA last). Refused if the leaf does not
     * certify this hypervisor's AK, its role or measurement is wrong, or the CA differs from the one pinned at the
     * first enrollment.
     */
    void installAttestationCertificate(List<byte[]> chainDer) throws HypervisorException;

    /**
     * Pins the cluster trust (CA and policy-signer certificates, cluster-trust.pem) on first install; a different
     * cluster afterwards is refused, so dom0 cannot make the hypervisor believe another CA.
     */
    void installClusterTrust(byte[] clusterTrustPem) throws HypervisorException;

    /** Installs a CA-signed cluster policy; refused if its signature fails or its serial is older than one seen. */
    void installPolicy(byte[] signedPolicy) throws HypervisorException;

    // ---- domains ----------------------------------------------------------------------------------------------

    /** Creates a domain, paused; protected processes get fresh keys inside the hypervisor. */
    DomainInfo createDomain(DomainConfig config) throws HypervisorException;

    /** Destroys a domain. Refused while a migration holds its lock and the hypervisor cannot decide alone. */
    void destroyDomain(int domId) throws HypervisorException;

    List<DomainInfo> listDomains() throws HypervisorException;

    DomainInfo domainInfo(int domId) throws HypervisorException;

    /** The domain with this name, or NOT_FOUND. */
    DomainInfo domainByName(String name) throws HypervisorException;

    /** Stops the vCPUs: when it returns, the guest (and its workload) no longer writes memory. */
    void pause(int domId) throws HypervisorException;

    /**
     * Checked resume. Refused (REFUSED) for an INCOMING domain (destination before RELEASE), a RELEASED one (source
     * after RELEASE, without DONE, ABORT token or fence), a migrated-away or zeroized one, and (STATE_IN_DOUBT) for
     * any domain with a migration in doubt when the sealed state was lost or rolled back. At a source after MANIFEST
     * it first records ABORT_BY_SOURCE for the migration, then resumes.
     */
    void resume(int domId) throws HypervisorException;

    // ---- dirty logging and memory -----------------------------------------------------------------------------

    void enableDirtyLogging(int domId) throws HypervisorException;

    void disableDirtyLogging(int domId) throws HypervisorException;

    /**
     * Pages written since the last clean (Xen's shadow-op PEEK / CLEAN). dom0 may clear this bitmap as it likes: the
     * hypervisor tracks writes to protected pages on its own for their versions.
     */
    PageBitmap readDirtyLog(int domId, boolean clean) throws HypervisorException;

    /** Maps the domain's memory as dom0 maps foreign pages; protected pages read as ciphertext. */
    GuestMemory mapGuestMemory(int domId, boolean writable) throws HypervisorException;

    /** The protected pfns (public layout). */
    PageBitmap protectedPages(int domId) throws HypervisorException;

    /**
     * The guest-kernel-visible vCPU context (docs/protocol.md §4.3, VCPU_CONTEXT). For a VM with protected processes
     * it does not contain their registers: those travel only sealed ({@link SourceSession#sealVcpus()}).
     */
    byte[] vcpuContext(int domId, int vcpu) throws HypervisorException;

    /** Sets the kernel-visible vCPU context of a paused or incoming VM. */
    void setVcpuContext(int domId, int vcpu, byte[] context) throws HypervisorException;

    /**
     * Protection metadata outside a secure migration: refused (PROTECTED_VM) for a VM with protected processes —
     * their keys and page tables leave the hypervisor only sealed in a secure migration's MANIFEST. For a VM without
     * protected processes it is empty.
     */
    byte[] exportProtectionMetadata(int domId) throws HypervisorException;

    // ---- migrations -------------------------------------------------------------------------------------------

    /** Takes the VM's migration lock for a plain migration; PROTECTED_VM for a VM with protected processes. */
    PlainMigration beginPlainMigration(int domId) throws HypervisorException;

    /**
     * Takes the VM's migration lock (LOCKED if another migration holds it) and makes HELLO. Needs an AK certificate
     * and a policy (NOT_ENROLLED otherwise).
     */
    SourceSession beginSecureSource(SourceRequest request) throws HypervisorException;

    /** Creates the INCOMING domain and waits for HELLO. */
    DestinationSession openSecureDestination(DestinationRequest request) throws HypervisorException;

    /** The source session of a migration (after an agent restart). */
    SourceSession sourceSession(MigrationId id) throws HypervisorException;

    /** The destination session of a migration (after an agent restart). */
    DestinationSession destinationSession(MigrationId id) throws HypervisorException;

    // ---- recovery ---------------------------------------------------------------------------------------------

    /** Every migration recorded in the sealed state, final ones included, newest first. */
    List<MigrationDecision> decisions() throws HypervisorException;

    /**
     * An AK-signed token for hand carrying: RELEASE (source after RELEASE, re-served as often as needed), DONE
     * (destination after resume), ABORT (this host's abort; if it has not aborted yet but still may — a source before
     * RELEASE, a destination that has not resumed, neither in doubt — it aborts now and returns the token), READY
     * (destination after it verified the copy: the signed manifest digest an operator's fence names when the source
     * is lost for good; it cannot be imported). REFUSED if this host has not made and cannot make that decision;
     * STATE_IN_DOUBT if its sealed state was lost.
     */
    byte[] exportToken(MigrationId id, TokenKind kind) throws HypervisorException;

    /**
     * Applies a peer's token: RELEASE at the destination (resumes if it is READY and not in doubt), ABORT at the
     * source (the VM may resume if RELEASED), DONE at the source (discard the copy).
     */
    MigrationDecision importToken(byte[] token) throws HypervisorException;

    /**
     * Applies an operator's fence (signed with the policy key, bound to migration id, manifest digest and the lost
     * host's AK) together with the new policy revoking that AK: the one place a VM may run outside G5's rules.
     */
    MigrationDecision importFence(byte[] fence, byte[] newPolicy) throws HypervisorException;

    // ---- attestation ------------------------------------------------------------------------------------------

    /**
     * This hypervisor's signed part of the migration's attestation record, over fields it computed itself;
     * {@code agentStatistics} (rounds, bytes, ...) are included verbatim and marked as agent-reported.
     */
    SignedAttestation signAttestation(MigrationId id, byte[] agentStatistics) throws HypervisorException;

    /**
     * Countersigns the peer hypervisor's proposed record ({@link SignedAttestation#fields()} of the peer's
     * {@link #signAttestation}), after checking every field this hypervisor computed itself (ids, both parties,
     * policy serial, suite, outcome, transcript hash, manifest digest); timestamps and statistics are the proposer's.
     * REFUSED (protocol reason TAMPERED) naming the first field that differs.
     */
    SignedAttestation countersignAttestation(MigrationId id, byte[] proposedRecord) throws HypervisorException;

    /**
     * Tells the hypervisor about a new log entry (org.sealift.protocol.attest.LogEntry): it checks {@code index} =
     * the number of entries it has seen (0-based index of the new entry) and {@code previousHash} = its head hash
     * (the log's genesis hash when empty), and advances its head to the entry's hash in sealed state.
     *
     * @param encodedEntry the entry's signed-record bytes ({@code LogEntry.recordBytes()})
     */
    LogHead appendLogEntry(long index, byte[] previousHash, byte[] encodedEntry) throws HypervisorException;

    /** The hypervisor's own log head, AK-signed with the verifier's fresh nonce. */
    LogHead signLogHead(byte[] verifierNonce) throws HypervisorException;

    /**
     * Diagnostics for tests, only when the hypervisor runs with diagnostics enabled (part of its measured
     * configuration, so no production policy admits it): SHA-256 over the plaintext of all protected pages of a
     * domain, in pfn order. REFUSED otherwise.
     */
    byte[] protectedMemoryDigest(int domId) throws HypervisorException;

    /** Detaches; the hypervisor keeps running. */
    @Override
    void close();
}
