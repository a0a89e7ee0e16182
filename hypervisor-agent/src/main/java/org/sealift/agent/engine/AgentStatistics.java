package org.sealift.agent.engine;

import org.sealift.model.MigrationSummary;
import org.sealift.protocol.pki.CanonicalWriter;

/**
 * The statistics the agent hands to its hypervisor for the attestation record. The hypervisor includes them
 * verbatim and marks them as agent-reported (PROTOCOL.md: signed fields are computed by the hypervisors; these
 * are not). Canonical encoding: label, mode, then u32 rounds and u64 pages normal / protected / zero, bytes,
 * downtime ns, total ns.
 */
public final class AgentStatistics {

    public static final String LABEL = "SMP1/agent-statistics";

    private AgentStatistics() {
    }

    public static byte[] encode(MigrationSummary s) {
        return new CanonicalWriter().str(LABEL).str(s.mode().toString()).u32(s.rounds().size())
                .u64(s.pagesNormal()).u64(s.pagesProtected()).u64(s.pagesZero()).u64(s.bytes())
                .u64(s.downtimeNanos()).u64(s.totalNanos()).toByteArray();
    }
}
