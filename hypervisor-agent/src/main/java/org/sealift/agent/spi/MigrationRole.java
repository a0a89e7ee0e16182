package org.sealift.agent.spi;

/** Which end of a migration a hypervisor is. */
public enum MigrationRole {
    SOURCE,
    DESTINATION
}
