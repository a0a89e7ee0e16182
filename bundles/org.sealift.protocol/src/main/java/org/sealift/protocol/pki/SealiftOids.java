package org.sealift.protocol.pki;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;

/**
 * Object identifiers Sealift defines. Sealift has no registered enterprise number, so its arc is a UUID OID
 * (ITU-T X.667 / RFC 4122 section 4: {@code 2.25.<UUID as an integer>}), which is unique without registration.
 * The arc and every OID under it are listed in docs/protocol-attestation.md; never renumber them.
 */
public final class SealiftOids {

    /** UUID e7a18d16-38b9-4c10-beb9-0a2115dcff95 as an OID arc. */
    public static final ASN1ObjectIdentifier ARC = new ASN1ObjectIdentifier("2.25.307890488400868535123685704847574499221");

    /** Certificate / CSR extension: the hypervisor measurement, DER OCTET STRING of exactly 32 bytes. */
    public static final ASN1ObjectIdentifier MEASUREMENT = ARC.branch("1.1");

    /** Certificate extension: the Sealift role of the key, DER UTF8String (see {@link Role#label()}). */
    public static final ASN1ObjectIdentifier ROLE = ARC.branch("1.2");

    /**
     * Certificate extension, <b>critical</b>: the key is held by dom0 (the agent), not protected by a hypervisor. DER
     * UTF8String of exactly {@link Dom0Signer#STATEMENT}. Critical so that a validator that does not know it refuses
     * the certificate instead of taking it for something stronger.
     */
    public static final ASN1ObjectIdentifier DOM0_HELD_KEY = ARC.branch("1.3");

    /** Extended key usage: the key is a hypervisor attestation key. */
    public static final ASN1ObjectIdentifier KP_ATTESTATION = ARC.branch("2.1");

    /** Extended key usage: the key is a host endorsement key (simulated TPM EK). */
    public static final ASN1ObjectIdentifier KP_ENDORSEMENT = ARC.branch("2.2");

    /** Extended key usage: the key signs cluster policies and fences. */
    public static final ASN1ObjectIdentifier KP_POLICY = ARC.branch("2.3");

    /**
     * Extended key usage: a dom0-held key that signs attestation records of plain migrations on a host whose
     * hypervisor cannot hold an attestation key (an unpatched Xen). Never valid where an AK is required.
     */
    public static final ASN1ObjectIdentifier KP_DOM0_RECORD_SIGNING = ARC.branch("2.4");

    private SealiftOids() {
    }
}
