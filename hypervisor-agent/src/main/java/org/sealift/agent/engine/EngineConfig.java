package org.sealift.agent.engine;

import java.util.Objects;

/**
 * How the engine runs (not what the operator asks for: that is MigrationOptions). Tests shorten the deadlines.
 *
 * @param deadlines       the G4 deadlines
 * @param ticker          clock for rates and deadlines
 * @param batchPages      normal pages per PAGE_BATCH record (1..256)
 * @param sealPages       protected pages per sealing request to the hypervisor (1..200)
 * @param streamBuffers   buffers circulating between encoder and socket writer (2..64)
 */
public record EngineConfig(Deadlines deadlines, Ticker ticker, int batchPages, int sealPages, int streamBuffers) {

    public static final EngineConfig DEFAULTS = new EngineConfig(Deadlines.DEFAULTS, Ticker.SYSTEM, 256, 128, 8);

    public EngineConfig {
        Objects.requireNonNull(deadlines, "deadlines");
        Objects.requireNonNull(ticker, "ticker");
        if (batchPages < 1 || batchPages > 256) {
            throw new IllegalArgumentException("batch of " + batchPages + " pages: use 1 to 256");
        }
        if (sealPages < 1 || sealPages > 200) {
            throw new IllegalArgumentException("sealing request of " + sealPages + " pages: use 1 to 200");
        }
        if (streamBuffers < 2 || streamBuffers > 64) {
            throw new IllegalArgumentException(streamBuffers + " stream buffers: use 2 to 64");
        }
    }

    public EngineConfig withDeadlines(Deadlines d) {
        return new EngineConfig(d, ticker, batchPages, sealPages, streamBuffers);
    }
}
