/**
 * Commit tokens (docs/protocol-handshake.md §8): AK-signed READY, RELEASE, DONE, ABORT_BY_SOURCE and
 * ABORT_BY_DESTINATION that name the migration, the handshake transcript and the manifest digest, so they verify
 * after restarts and when carried by hand as a {@link org.sealift.protocol.token.TokenFile}.
 */
package org.sealift.protocol.token;
