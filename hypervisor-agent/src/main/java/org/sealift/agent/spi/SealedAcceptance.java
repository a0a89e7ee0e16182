package org.sealift.agent.spi;

/**
 * What the destination hypervisor did with sealed records handed to it.
 *
 * @param accepted     records that verified and became the newest version of their page or vCPU context
 * @param staleDropped records older than (or equal to) what it already held: dropped and counted as replay anomalies
 */
public record SealedAcceptance(int accepted, int staleDropped) {
}
