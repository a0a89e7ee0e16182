package org.sealift.agent.spi;

import java.util.List;

/**
 * Who a hypervisor is, all public: host id, measurement (SHA-256 over its build, protection module version and
 * security configuration), its endorsement-key chain (EK certificate up to the vendor root) and, once enrolled, its
 * attestation-key chain (AK certificate up to the cluster CA). The private keys are never part of it.
 *
 * @param policySerial serial of the newest cluster policy installed, 0 if none
 */
public record HostIdentity(String hostId, byte[] measurement, String protectionModuleVersion,
        List<byte[]> endorsementChain, List<byte[]> attestationChain, long policySerial) {

    public HostIdentity {
        measurement = measurement.clone();
        endorsementChain = copy(endorsementChain);
        attestationChain = copy(attestationChain);
    }

    private static List<byte[]> copy(List<byte[]> in) {
        return in.stream().map(byte[]::clone).toList();
    }

    @Override
    public byte[] measurement() {
        return measurement.clone();
    }

    public boolean enrolled() {
        return !attestationChain.isEmpty();
    }
}
