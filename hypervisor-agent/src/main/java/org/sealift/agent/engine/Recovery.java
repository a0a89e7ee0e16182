package org.sealift.agent.engine;

import java.util.ArrayList;
import java.util.List;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationRole;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.SourceSession;
import org.sealift.agent.spi.TokenKind;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * What a restarted agent does with the migrations its hypervisor still has open (PROTOCOL.md, "Recovery"). It
 * decides nothing the hypervisor would not: it ends migrations that had not reached a commit point (the source
 * aborts and resumes its VM, the destination aborts and zeroizes) and reports the ones only a token or a fence can
 * settle (source RELEASED, destination READY, anything in doubt). After a whole-host crash the hypervisor's sessions
 * are gone: it then ends the migration through the hypervisor's ABORT token path, which decides ABORT exactly where an
 * in-session abort would, and says where that token must be carried.
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
        // dom0 gives it up on purpose (no deadline passed): CANCELLED, naming the action
        String why = "the agent restarted during the migration and its recovery gave it up";
        try {
            if (d.role() == MigrationRole.SOURCE) {
                switch (d.state()) {
                    case HANDSHAKE, PRECOPY, FROZEN -> {
                        if (!abortInSession(backend, d, why)) {
                            backend.exportToken(d.id(), TokenKind.ABORT);
                            if (d.domId() < 0) {
                                return "aborted by the source through its ABORT token (the host restarted: its session"
                                        + " and the VM died with it; nothing was released)";
                            }
                        }
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
                    if (!abortInSession(backend, d, why)) {
                        backend.exportToken(d.id(), TokenKind.ABORT);
                        return "aborted by the destination through its ABORT token (the host restarted: its session"
                                + " and partial copy died with it)";
                    }
                    return "aborted by the destination; the incoming copy is zeroized";
                }
                case READY -> {
                    if (d.domId() < 0) {
                        // the verified copy died with the host, so it can never resume: giving it up is the abort the
                        // READY deadline would have made, and its token is what lets the source resume
                        backend.exportToken(d.id(), TokenKind.ABORT);
                        return "aborted by the destination through its ABORT token (the host restarted: its verified"
                                + " copy died with it); import this host's ABORT token at "
                                + d.peerHostId().orElse("the source") + " to resume the VM there";
                    }
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

    /** Aborts through the live session; false when the hypervisor has none for it any more (the host restarted). */
    private static boolean abortInSession(HypervisorBackend backend, MigrationDecision d, String why)
            throws HypervisorException {
        // no session: the token path applies the same rules (doubt, state) without one
        if (d.role() == MigrationRole.SOURCE) {
            SourceSession session;
            try {
                session = backend.sourceSession(d.id());
            } catch (HypervisorException noSession) {
                return false;
            }
            session.abort(Reason.CANCELLED, why);
        } else {
            DestinationSession session;
            try {
                session = backend.destinationSession(d.id());
            } catch (HypervisorException noSession) {
                return false;
            }
            session.abort(Reason.CANCELLED, why);
        }
        return true;
    }
}
