package org.sealift.agent.spi;

/** AK-signed commit tokens a hypervisor can export for recovery by hand (they verify after restarts). */
public enum TokenKind {
    /** Source's start token: the destination may resume. */
    RELEASE,
    /** This host's abort: from the destination it lets the source resume; from the source it ends the destination's wait. */
    ABORT,
    /** Destination's confirmation that it resumed: the source may discard its copy. */
    DONE,
    /**
     * Destination's statement that it verified a complete copy against the MANIFEST (export only: it names the
     * manifest digest an operator's fence must be bound to when the source is lost for good after READY).
     */
    READY
}
