package org.sealift.agent.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * The deadlines of PROTOCOL.md G4 that bound how long dom0 can stall a migration. The engine enforces them on its
 * side; the hypervisors enforce the commit-relevant ones again (the engine is untrusted). Tests use short ones.
 *
 * @param handshake              the whole attested handshake
 * @param precopySilence         no byte from the peer while the VM still runs
 * @param pausedWithoutRelease   VM paused at the source and no RELEASE issued yet
 * @param destinationAfterReady  destination sent READY and saw neither RELEASE nor ABORT
 */
public record Deadlines(Duration handshake, Duration precopySilence, Duration pausedWithoutRelease,
        Duration destinationAfterReady) {

    public static final Deadlines DEFAULTS = new Deadlines(Duration.ofSeconds(10), Duration.ofSeconds(30),
            Duration.ofSeconds(5), Duration.ofSeconds(30));

    public Deadlines {
        check("handshake", handshake);
        check("pre-copy silence", precopySilence);
        check("paused without RELEASE", pausedWithoutRelease);
        check("destination after READY", destinationAfterReady);
    }

    private static void check(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("deadline '" + name + "' is " + d + ": use a positive duration");
        }
    }

    /** All four deadlines set to {@code d}, for tests that stall the stream on purpose. */
    public static Deadlines all(Duration d) {
        return new Deadlines(d, d, d, d);
    }
}
