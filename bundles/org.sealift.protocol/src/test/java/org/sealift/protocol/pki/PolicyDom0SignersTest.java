package org.sealift.protocol.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/** The policy's explicit list of hosts whose dom0-held signers it accepts for records (format 2). */
class PolicyDom0SignersTest {

    private final TestPki pki = new TestPki();

    @Test
    void aPolicyWithoutDom0SignersKeepsFormat1AndItsBytes() throws Exception {
        Policy p = pki.basePolicy(3).build();
        byte[] b = p.toCanonicalBytes();
        assertEquals(1, ((b[11] & 0xff) << 8) | (b[12] & 0xff), "format field after the 11-byte magic");
        assertTrue(p.dom0Signers().isEmpty());
        assertFalse(p.allowsDom0Signer("xa"));
        assertEquals(p, Policy.fromCanonicalBytes(b));
    }

    @Test
    void dom0SignersMakeFormat2AndRoundTrip() throws Exception {
        Policy p = pki.basePolicy(3).allowDom0Signer("xb").allowDom0Signer("xa").build();
        byte[] b = p.toCanonicalBytes();
        assertEquals(2, ((b[11] & 0xff) << 8) | (b[12] & 0xff));
        Policy back = Policy.fromCanonicalBytes(b);
        assertEquals(Set.of("xa", "xb"), back.dom0Signers());
        assertTrue(back.allowsDom0Signer("xa"));
        assertFalse(back.allowsDom0Signer("h1"));
        assertArrayEquals(b, back.toCanonicalBytes());
        // the signed form carries it, and the builder keeps it for the next serial
        assertEquals(Set.of("xa", "xb"), pki.ca.signPolicy(p).verify(pki.ca.trust()).dom0Signers());
        assertEquals(Set.of("xa", "xb"), p.toBuilder().serial(4).build().dom0Signers());
    }

    @Test
    void nonCanonicalDom0SignerListsAreMalformed() throws Exception {
        byte[] one = pki.basePolicy(3).allowDom0Signer("xa").build().toCanonicalBytes();
        // format 2 with the list emptied: the canonical form of "none" is format 1
        byte[] empty = Arrays.copyOf(one, one.length - (4 + 2 + 2));
        byte[] emptied = Arrays.copyOf(empty, empty.length + 4);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Policy.fromCanonicalBytes(emptied)).reason());
        // format 1 with a list appended: trailing octets
        byte[] v1 = pki.basePolicy(3).build().toCanonicalBytes();
        byte[] tail = Arrays.copyOfRange(one, one.length - 8, one.length);
        byte[] appended = Arrays.copyOf(v1, v1.length + tail.length);
        System.arraycopy(tail, 0, appended, v1.length, tail.length);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class,
                () -> Policy.fromCanonicalBytes(appended)).reason());
        assertThrows(IllegalArgumentException.class, () -> pki.basePolicy(3).allowDom0Signer("x a"));
    }
}
