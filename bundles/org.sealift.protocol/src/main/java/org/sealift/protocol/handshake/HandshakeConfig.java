package org.sealift.protocol.handshake;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.PolicyStore;
import org.sealift.protocol.wire.StreamHeader;

/**
 * What a hypervisor needs to judge a peer: the AK validator of its cluster, its policy store (current policy and the
 * highest serial seen), a clock for certificate and policy validity, a random source, and the protocol versions and
 * suites this build accepts (further narrowed by the policy). Immutable.
 */
public final class HandshakeConfig {

    private final AkValidator validator;
    private final PolicyStore policies;
    private final Clock clock;
    private final SecureRandom random;
    private final List<Suite> suites;
    private final Set<Integer> versions;

    private HandshakeConfig(AkValidator validator, PolicyStore policies, Clock clock, SecureRandom random,
            List<Suite> suites, Set<Integer> versions) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.policies = Objects.requireNonNull(policies, "policies");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        if (suites.isEmpty() || versions.isEmpty()) {
            throw new IllegalArgumentException("at least one suite and one version must be accepted");
        }
        this.suites = List.copyOf(suites);
        this.versions = Set.copyOf(versions);
    }

    /** System clock, a new {@link SecureRandom}, SMP version 1 and its one suite. */
    public static HandshakeConfig of(AkValidator validator, PolicyStore policies) {
        return new HandshakeConfig(validator, policies, Clock.systemUTC(), new SecureRandom(),
                List.of(Suite.SMP1_X25519_ED25519_AES256GCM_SHA256), Set.of(StreamHeader.VERSION_1));
    }

    public HandshakeConfig withClock(Clock c) {
        return new HandshakeConfig(validator, policies, c, random, suites, versions);
    }

    public HandshakeConfig withRandom(SecureRandom r) {
        return new HandshakeConfig(validator, policies, clock, r, suites, versions);
    }

    /** Suites this host accepts; the first is the one it offers as the source. */
    public HandshakeConfig withSuites(List<Suite> s) {
        return new HandshakeConfig(validator, policies, clock, random, s, versions);
    }

    public HandshakeConfig withVersions(Set<Integer> v) {
        return new HandshakeConfig(validator, policies, clock, random, suites, v);
    }

    public AkValidator validator() {
        return validator;
    }

    public PolicyStore policies() {
        return policies;
    }

    public Clock clock() {
        return clock;
    }

    public SecureRandom random() {
        return random;
    }

    public List<Suite> suites() {
        return suites;
    }

    public Set<Integer> versions() {
        return versions;
    }

    /** The accepted suite with wire id {@code id}, or null. */
    Suite suite(int id) {
        for (Suite s : suites) {
            if (s.id() == id) {
                return s;
            }
        }
        return null;
    }
}
