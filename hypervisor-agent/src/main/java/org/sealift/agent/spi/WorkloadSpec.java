package org.sealift.agent.spi;

import java.util.OptionalLong;

/**
 * What the guest does while it runs, played by a generator inside the hypervisor (like a guest, it keeps running
 * whatever the agent does). Normal and protected pages each have a writable working set (the first pages of normal
 * memory, resp. of each protected process's pages) that is dirtied at a rate; an idle VM (rates 0) costs nothing.
 *
 * @param fillPercent               share of normal pages given non-zero initial contents (0..100); the rest stay zero
 * @param normalWorkingSetPages     normal pages the guest keeps writing
 * @param normalDirtyPagesPerSecond page writes per second spread over that working set
 * @param protectedWorkingSetPages  protected pages the protected processes keep writing (split over the processes)
 * @param protectedDirtyPagesPerSecond page writes per second spread over that working set
 * @param seed                      seed of contents and write pattern (reproducible runs)
 * @param secretMarkerSeed          if present, every protected page starts with the marker
 *                                  {@link SecretMarker#forSeed(long)} (for tests that scan dom0 for it)
 */
public record WorkloadSpec(int fillPercent, long normalWorkingSetPages, long normalDirtyPagesPerSecond,
        long protectedWorkingSetPages, long protectedDirtyPagesPerSecond, long seed, OptionalLong secretMarkerSeed) {

    public static final long PAGES_PER_MIB = 256;

    public WorkloadSpec {
        if (fillPercent < 0 || fillPercent > 100) {
            throw new IllegalArgumentException("fill " + fillPercent + "% is out of range: use 0 to 100");
        }
        if (normalWorkingSetPages < 0 || protectedWorkingSetPages < 0) {
            throw new IllegalArgumentException("working set sizes must not be negative");
        }
        if (normalDirtyPagesPerSecond < 0 || protectedDirtyPagesPerSecond < 0) {
            throw new IllegalArgumentException("dirty rates must not be negative: use 0 for an idle guest");
        }
        if (normalDirtyPagesPerSecond > 0 && normalWorkingSetPages == 0
                || protectedDirtyPagesPerSecond > 0 && protectedWorkingSetPages == 0) {
            throw new IllegalArgumentException("a dirty rate needs a working set to write: give a working set size");
        }
        if (secretMarkerSeed == null) {
            secretMarkerSeed = OptionalLong.empty();
        }
    }

    /** An idle guest: memory filled to {@code fillPercent}, nothing written while it runs. */
    public static WorkloadSpec idle(int fillPercent) {
        return new WorkloadSpec(fillPercent, 0, 0, 0, 0, 1, OptionalLong.empty());
    }

    /** A guest dirtying {@code wwsMiB} of normal memory at {@code pagesPerSecond}. */
    public WorkloadSpec withNormal(long wwsMiB, long pagesPerSecond) {
        return new WorkloadSpec(fillPercent, wwsMiB * PAGES_PER_MIB, pagesPerSecond, protectedWorkingSetPages,
                protectedDirtyPagesPerSecond, seed, secretMarkerSeed);
    }

    /** Protected processes dirtying {@code wwsPages} of their pages at {@code pagesPerSecond}. */
    public WorkloadSpec withProtected(long wwsPages, long pagesPerSecond) {
        return new WorkloadSpec(fillPercent, normalWorkingSetPages, normalDirtyPagesPerSecond, wwsPages,
                pagesPerSecond, seed, secretMarkerSeed);
    }

    public WorkloadSpec withSeed(long newSeed) {
        return new WorkloadSpec(fillPercent, normalWorkingSetPages, normalDirtyPagesPerSecond,
                protectedWorkingSetPages, protectedDirtyPagesPerSecond, newSeed, secretMarkerSeed);
    }

    public WorkloadSpec withSecretMarker(long markerSeed) {
        return new WorkloadSpec(fillPercent, normalWorkingSetPages, normalDirtyPagesPerSecond,
                protectedWorkingSetPages, protectedDirtyPagesPerSecond, seed, OptionalLong.of(markerSeed));
    }
}
