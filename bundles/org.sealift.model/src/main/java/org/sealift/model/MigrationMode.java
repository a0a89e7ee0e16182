package org.sealift.model;

import java.util.Locale;

/** How a VM is moved. */
public enum MigrationMode {
    /** Unmodified pre-copy, no protection: the baseline, allowed only for VMs without protected processes. */
    PLAIN,
    /** The Sealift protocol: attested handshake, sealed protected pages, manifest, commit tokens. */
    SECURE;

    /** Parses "plain"/"secure" (any case) with an error that lists the choices. */
    public static MigrationMode parse(String text) {
        if (text != null) {
            for (MigrationMode m : values()) {
                if (m.name().equalsIgnoreCase(text.trim())) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("unknown migration mode '" + text + "': use 'secure' or 'plain'");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
