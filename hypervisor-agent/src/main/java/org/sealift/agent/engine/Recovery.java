package org.sealift.agent.engine;

import java.util.ArrayList;
import java.util.List;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * What a restarted agent does with the migrations its hypervisor still has open (PROTOCOL.md, "Recovery"). It
 * decides nothing the hypervisor would not: it ends migrations that had not reached a commit point (the source
 * aborts and resumes its VM, the destination aborts and zeroizes) and reports the ones only a token or a fence can
 * settle (source RELEASED, destination READY, anything in doubt).
 */
public final class Recovery {

    /** One migration and what was done about it. */
    public record Action(MigrationDecision before, String done) {
    }

    private Recovery() {
    }

    public static List<Action> run(HypervisorBackend backend) throws HypervisorException {
        List<Action> out = new ArrayList<>();
        for (MigrationDecision d : backend.decisions()) {
            if (d.state().isFinal() || d.state() == MigrationState.PLAIN) {
                continue;
            }
            if (d.inDoubt() && d.state() != MigrationState.RELEASED && d.state() != MigrationState.READY) {
                out.add(new Action(d, "left alone: in doubt on this host (" + d.detail() + ")"));
                continue;
            }
            out.add(new Action(d, settle(backend, d)));
        }
        return out;
    }

    private static String settle(HypervisorBackend backend, MigrationDecision d) {
        String why = "the agent restarted during the migration";
        try {
            if (d.role() == MigrationRole.SOURCE) {
                switch (d.state()) {
                    case HANDSHAKE, PRECOPY, FROZEN -> {
                        backend.sourceSession(d.id()).abort(Reason.DEADLINE, why);
                        if (d.domId() >= 0) {
                            backend.resume(d.domId());
                        }
                        return "aborted by the source and resumed here";
                    }
                    case RELEASED -> {
                        return "released: the VM stays paused here until DONE, the destination's ABORT token or a"
                                + " fence; re-serve RELEASE with the exported token";
                    }
                    default -> {
                        return "nothing to do in state " + d.state();
                    }
                }
            }
            switch (d.state()) {
                case HANDSHAKE, PRECOPY -> {
                    backend.destinationSession(d.id()).abort(Reason.DEADLINE, why);
                    return "aborted by the destination; the incoming copy is zeroized";
                }
                case READY -> {
                    return "verified copy held: waits for RELEASE (token), ABORT or its READY deadline";
                }
                default -> {
                    return "nothing to do in state " + d.state();
                }
            }
        } catch (HypervisorException e) {
            return "refused by the hypervisor: " + e.getMessage();
        }
    }
}
