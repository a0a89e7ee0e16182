package org.sealift.protocol.handshake;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.sealift.protocol.ProtocolException;

/** The three handshake bodies and their exact encodings (docs/protocol-handshake.md). */
final class Messages {

    static final int NONCE_LENGTH = 32;
    static final int SIGNATURE_LENGTH = 64;
    static final int MAC_LENGTH = 32;
    static final int VM_ID_LENGTH = 16;

    private Messages() {
    }

    /** S→D. */
    record Hello(int version, int suite, long policySerial, MigrationId migrationId, UUID vmId, byte[] nonce,
            byte[] ephemeral, List<byte[]> chain) {

        byte[] encode() {
            return new Codec.Writer().u32(version).u32(suite).u64(policySerial)
                    .fixed(migrationId.bytes(), MigrationId.LENGTH).fixed(uuid(vmId), VM_ID_LENGTH)
                    .fixed(nonce, NONCE_LENGTH).fixed(ephemeral, X25519.KEY_LENGTH).chain(chain).toByteArray();
        }

        static Hello decode(byte[] body) throws ProtocolException {
            Codec.Reader r = new Codec.Reader("HELLO", body);
            Hello h = new Hello(r.u32("version"), r.u32("suite"), r.u64("policy serial"),
                    MigrationId.of(r.fixed(MigrationId.LENGTH, "migration id")),
                    uuid(r.fixed(VM_ID_LENGTH, "VM id")), r.fixed(NONCE_LENGTH, "nonce_S"),
                    r.fixed(X25519.KEY_LENGTH, "ephemeral key"), r.chain("AK chain"));
            r.end();
            return h;
        }
    }

    /** D→S. {@code core} is the exact encoding of everything before the signature (what the transcript hashes). */
    record HelloReply(int version, int suite, long policySerial, MigrationId migrationId, byte[] nonce,
            byte[] ephemeral, List<byte[]> chain, byte[] core, byte[] signature, byte[] mac) {

        static byte[] encodeCore(int version, int suite, long policySerial, MigrationId migrationId, byte[] nonce,
                byte[] ephemeral, List<byte[]> chain) {
            return new Codec.Writer().u32(version).u32(suite).u64(policySerial)
                    .fixed(migrationId.bytes(), MigrationId.LENGTH).fixed(nonce, NONCE_LENGTH)
                    .fixed(ephemeral, X25519.KEY_LENGTH).chain(chain).toByteArray();
        }

        static byte[] encode(byte[] core, byte[] signature, byte[] mac) {
            if (signature.length != SIGNATURE_LENGTH || mac.length != MAC_LENGTH) {
                throw new IllegalArgumentException("signature must be 64 and MAC 32 bytes");
            }
            byte[] out = Arrays.copyOf(core, core.length + SIGNATURE_LENGTH + MAC_LENGTH);
            System.arraycopy(signature, 0, out, core.length, SIGNATURE_LENGTH);
            System.arraycopy(mac, 0, out, core.length + SIGNATURE_LENGTH, MAC_LENGTH);
            return out;
        }

        static HelloReply decode(byte[] body) throws ProtocolException {
            Codec.Reader r = new Codec.Reader("HELLO_REPLY", body);
            int version = r.u32("version");
            int suite = r.u32("suite");
            long serial = r.u64("policy serial");
            MigrationId id = MigrationId.of(r.fixed(MigrationId.LENGTH, "migration id"));
            byte[] nonce = r.fixed(NONCE_LENGTH, "nonce_D");
            byte[] ephemeral = r.fixed(X25519.KEY_LENGTH, "ephemeral key");
            List<byte[]> chain = r.chain("AK chain");
            byte[] core = Arrays.copyOf(body, r.position());
            byte[] signature = r.fixed(SIGNATURE_LENGTH, "signature");
            byte[] mac = r.fixed(MAC_LENGTH, "key-confirmation MAC");
            r.end();
            return new HelloReply(version, suite, serial, id, nonce, ephemeral, chain, core, signature, mac);
        }
    }

    /** S→D. */
    record Finish(MigrationId migrationId, byte[] signature, byte[] mac) {

        byte[] encode() {
            return new Codec.Writer().fixed(migrationId.bytes(), MigrationId.LENGTH)
                    .fixed(signature, SIGNATURE_LENGTH).fixed(mac, MAC_LENGTH).toByteArray();
        }

        static Finish decode(byte[] body) throws ProtocolException {
            Codec.Reader r = new Codec.Reader("FINISH", body);
            Finish f = new Finish(MigrationId.of(r.fixed(MigrationId.LENGTH, "migration id")),
                    r.fixed(SIGNATURE_LENGTH, "signature"), r.fixed(MAC_LENGTH, "key-confirmation MAC"));
            r.end();
            return f;
        }
    }

    static byte[] uuid(UUID id) {
        return ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits())
                .array();
    }

    static UUID uuid(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        return new UUID(bb.getLong(), bb.getLong());
    }
}
