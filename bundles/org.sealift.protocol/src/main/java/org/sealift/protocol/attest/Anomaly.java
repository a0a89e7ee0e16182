package org.sealift.protocol.attest;

import java.util.Objects;

/** How often one kind of anomaly happened, and the first occurrence described for people. */
public record Anomaly(AnomalyKind kind, long count, String firstExample) {

    static final int MAX_EXAMPLE = 256;

    public Anomaly {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(firstExample, "firstExample");
        if (count == 0) {
            throw new IllegalArgumentException("an anomaly is recorded only if it happened (count >= 1)");
        }
        if (firstExample.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_EXAMPLE) {
            throw new IllegalArgumentException("anomaly example is longer than " + MAX_EXAMPLE + " bytes");
        }
    }
}
