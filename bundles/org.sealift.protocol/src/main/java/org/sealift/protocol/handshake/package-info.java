/**
 * The SMP1 attested handshake between two hypervisors (docs/protocol-handshake.md): {@link
 * org.sealift.protocol.handshake.Initiator} (source) and {@link org.sealift.protocol.handshake.Responder}
 * (destination) exchange HELLO, HELLO_REPLY and FINISH bodies as byte arrays, check each other's AK chain and
 * policy through {@code org.sealift.protocol.pki}, and end with a {@link
 * org.sealift.protocol.handshake.HandshakeResult}: session keys, the peer's attested identity, the transcript hash
 * and the migration id. Everything here runs inside the hypervisor; the agent only carries the bytes.
 */
package org.sealift.protocol.handshake;
