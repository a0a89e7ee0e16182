package org.sealift.protocol.wire;

/**
 * The record type registry of SMP version 1 (docs/protocol.md §3). Each type fixes its code, whether it is optional,
 * who may send it, whether it is an AEAD control record, and the length rules that the decoder checks
 * <em>before</em> it allocates a body buffer.
 */
public enum RecordType {
    END(0x00000000, 0, 0, 1, true, true, false),
    HELLO(0x00000001, 1, RecordType.MAX_HANDSHAKE_LENGTH, 1, true, false, false),
    HELLO_REPLY(0x00000002, 1, RecordType.MAX_HANDSHAKE_LENGTH, 1, false, true, false),
    FINISH(0x00000003, 1, RecordType.MAX_HANDSHAKE_LENGTH, 1, true, false, false),
    PAGE_BATCH(0x00000010, PageBatch.MIN_BODY_LENGTH, PageBatch.MAX_BODY_LENGTH, 8, true, false, false),
    SEALED(0x00000011, 56, 65_584, 8, true, false, false),
    VCPU_CONTEXT(0x00000012, VcpuContextRecord.MIN_BODY_LENGTH, VcpuContextRecord.MAX_BODY_LENGTH, 8, true, false,
            false),
    MANIFEST(0x00000020, 96, 33_734_752, 8, true, false, true),
    READY(0x00000021, RecordType.GCM_TAG_LENGTH, RecordType.MAX_TOKEN_LENGTH + RecordType.GCM_TAG_LENGTH, 1,
            false, true, true),
    RELEASE(0x00000022, RecordType.GCM_TAG_LENGTH, RecordType.MAX_TOKEN_LENGTH + RecordType.GCM_TAG_LENGTH, 1,
            true, false, true),
    DONE(0x00000023, RecordType.GCM_TAG_LENGTH, RecordType.MAX_TOKEN_LENGTH + RecordType.GCM_TAG_LENGTH, 1,
            false, true, true),
    ABORT(0x00000024, RecordType.GCM_TAG_LENGTH, RecordType.MAX_TOKEN_LENGTH + RecordType.GCM_TAG_LENGTH, 1,
            true, true, true),
    ROUND_STATS(0x80000100, RoundStatsRecord.BODY_LENGTH, RoundStatsRecord.BODY_LENGTH, 8, true, false, false);

    /** Bit 31 of the type: a receiver that does not know an optional record skips it. */
    public static final int OPTIONAL_BIT = 0x80000000;
    /** Largest unknown optional record a receiver skips; a larger one is malformed. */
    public static final int UNKNOWN_OPTIONAL_MAX_LENGTH = 16 * 1024 * 1024;
    /**
     * Largest handshake body: a HELLO_REPLY with a full chain (protocol-handshake.md §2: 96 + 8 + 8 × (8 + 16 384)
     * + 64 + 32 octets).
     */
    public static final int MAX_HANDSHAKE_LENGTH = 131_336;
    /** Largest plaintext of a READY, RELEASE, DONE or ABORT token. */
    public static final int MAX_TOKEN_LENGTH = 16_384;
    /** AES-GCM tag length in octets. */
    public static final int GCM_TAG_LENGTH = 16;

    private final int code;
    private final int minLength;
    private final int maxLength;
    private final int granule;
    private final boolean sentBySource;
    private final boolean sentByDestination;
    private final boolean control;

    RecordType(int code, int minLength, int maxLength, int granule, boolean sentBySource,
            boolean sentByDestination, boolean control) {
        this.code = code;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.granule = granule;
        this.sentBySource = sentBySource;
        this.sentByDestination = sentByDestination;
        this.control = control;
    }

    /** The 32-bit wire code, including the optional bit. */
    public int code() {
        return code;
    }

    public boolean isOptional() {
        return isOptional(code);
    }

    /** True for MANIFEST, READY, RELEASE, DONE, ABORT: bodies are AES-GCM under the sender's control key. */
    public boolean isControl() {
        return control;
    }

    public boolean isHandshake() {
        return this == HELLO || this == HELLO_REPLY || this == FINISH;
    }

    public boolean sentBySource() {
        return sentBySource;
    }

    public boolean sentByDestination() {
        return sentByDestination;
    }

    public int minLength() {
        return minLength;
    }

    /** The largest body a receiver accepts; it never allocates more for this type. */
    public int maxLength() {
        return maxLength;
    }

    /** The body length must be a multiple of this (1 = any length). */
    public int granule() {
        return granule;
    }

    /** True if {@code length} is within this type's limits and granule. */
    public boolean acceptsLength(long length) {
        return length >= minLength && length <= maxLength && length % granule == 0;
    }

    public static boolean isOptional(int code) {
        return (code & OPTIONAL_BIT) != 0;
    }

    /** The registered type for a wire code, or null if this implementation does not know it. */
    public static RecordType forCode(int code) {
        for (RecordType t : VALUES) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }

    /** "0x00000011 (SEALED)" — for messages. */
    public static String describe(int code) {
        RecordType t = forCode(code);
        return String.format("0x%08x", code) + (t == null ? "" : " (" + t + ")");
    }

    private static final RecordType[] VALUES = values();
}
