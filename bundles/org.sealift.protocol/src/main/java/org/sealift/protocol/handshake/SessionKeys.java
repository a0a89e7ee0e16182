package org.sealift.protocol.handshake;

import java.util.Objects;
import javax.crypto.SecretKey;

/**
 * The record keys of one migration session, derived by the handshake ({@link KeySchedule}). They live only in the
 * hypervisor, are never persisted, and are destroyed by {@link #close()} when the migration ends (committed or not).
 * A retry is a new handshake, hence new keys.
 */
public final class SessionKeys implements AutoCloseable {

    private final SecretKey controlSourceToDestination;
    private final SecretKey controlDestinationToSource;
    private final SecretKey sealing;

    SessionKeys(SecretKey controlSourceToDestination, SecretKey controlDestinationToSource, SecretKey sealing) {
        this.controlSourceToDestination = Objects.requireNonNull(controlSourceToDestination);
        this.controlDestinationToSource = Objects.requireNonNull(controlDestinationToSource);
        this.sealing = Objects.requireNonNull(sealing);
    }

    /** AES-256-GCM key of the control records that {@code sender} sends. */
    public SecretKey controlKey(Role sender) {
        return Objects.requireNonNull(sender, "sender") == Role.SOURCE
                ? controlSourceToDestination : controlDestinationToSource;
    }

    /** AES-256-GCM key of control records source → destination. */
    public SecretKey controlKeySourceToDestination() {
        return controlSourceToDestination;
    }

    /** AES-256-GCM key of control records destination → source. */
    public SecretKey controlKeyDestinationToSource() {
        return controlDestinationToSource;
    }

    /** AES-256-GCM key of SEALED protected pages and vCPU contexts (source → destination only). */
    public SecretKey sealingKey() {
        return sealing;
    }

    /** True once {@link #close()} ran. */
    public boolean isDestroyed() {
        return controlSourceToDestination.isDestroyed() && controlDestinationToSource.isDestroyed()
                && sealing.isDestroyed();
    }

    /** Overwrites the three keys; any later use of them throws. */
    @Override
    public void close() {
        destroy(controlSourceToDestination);
        destroy(controlDestinationToSource);
        destroy(sealing);
    }

    private static void destroy(SecretKey k) {
        try {
            k.destroy();
        } catch (javax.security.auth.DestroyFailedException e) {
            // only our own SessionKey is ever stored here, and its destroy() cannot fail
            throw new IllegalStateException("cannot destroy session key " + k, e);
        }
    }

    @Override
    public String toString() {
        return "SessionKeys[" + (isDestroyed() ? "destroyed" : "live") + "]";
    }
}
