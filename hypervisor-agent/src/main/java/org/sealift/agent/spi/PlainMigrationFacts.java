package org.sealift.agent.spi;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.CanonicalReader;
import org.sealift.protocol.pki.CanonicalWriter;

/**
 * What the agent tells its backend about a plain migration it ran, handed to
 * {@link HypervisorBackend#signAttestation} instead of the engine's statistics. A hypervisor takes no part in a plain
 * migration and refuses; only a dom0-held record signer (Xen backend on an unpatched Xen) signs a record from it, and
 * that record is then all agent-reported. Canonical: label, u8 role (1 source, 2 destination), [16] id, str
 * VM, str source host, str destination host, str outcome, str reason, u64 start ms, blob agent statistics.
 */
public record PlainMigrationFacts(MigrationId id, MigrationRole role, String vm, String sourceHost,
        String destinationHost, String outcome, String reason, Instant started, byte[] agentStatistics) {

    public static final String LABEL = "SMP1/plain-migration-facts";

    public byte[] encode() {
        return new CanonicalWriter().str(LABEL).u8(role == MigrationRole.SOURCE ? 1 : 2).fixed(id.bytes(), 16)
                .str(vm).str(sourceHost).str(destinationHost).str(outcome)
                .str(reason == null ? "" : reason.length() > 1000 ? reason.substring(0, 1000) : reason)
                .u64(started.toEpochMilli()).blob(agentStatistics).toByteArray();
    }

    public static boolean isFacts(byte[] b) {
        byte[] label = LABEL.getBytes(StandardCharsets.US_ASCII);
        return b.length > label.length + 2 && ((b[0] & 0xff) << 8 | (b[1] & 0xff)) == label.length
                && Arrays.equals(Arrays.copyOfRange(b, 2, 2 + label.length), label);
    }

    public static PlainMigrationFacts decode(byte[] b) throws HypervisorException {
        try {
            CanonicalReader r = new CanonicalReader(b, "plain migration facts");
            if (!LABEL.equals(r.str(64, "label"))) {
                throw r.malformed("not plain migration facts");
            }
            int role = r.u8("role");
            MigrationId id = MigrationId.of(r.fixed(16, "migration id"));
            String vm = r.str(256, "VM");
            String src = r.str(64, "source host");
            String dst = r.str(64, "destination host");
            String outcome = r.str(64, "outcome");
            String reason = r.str(4096, "reason");
            Instant started = Instant.ofEpochMilli(r.u64("start"));
            byte[] stats = r.blob(4096, "agent statistics");
            r.expectEnd();
            return new PlainMigrationFacts(id, role == 1 ? MigrationRole.SOURCE : MigrationRole.DESTINATION, vm,
                    src, dst, outcome, reason, started, stats);
        } catch (ProtocolException e) {
            throw HypervisorException.protocol(e);
        }
    }
}
