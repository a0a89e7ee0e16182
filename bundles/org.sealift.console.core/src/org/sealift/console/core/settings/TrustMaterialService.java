package org.sealift.console.core.settings;

import java.util.Optional;

import org.sealift.protocol.pki.Policy;

/** Loads (and caches) the trust material named in the settings. */
public interface TrustMaterialService {

    /**
     * The trust anchor, the verified policy and the AK certificates. Fails with a message that names the missing or
     * bad setting and the fix ("trust anchor not set: choose cluster-trust.pem in Preferences").
     */
    TrustMaterial load() throws SettingsException;

    /** The verified policy if trust anchor and policy are set and valid; empty otherwise (never throws). */
    Optional<Policy> policy();
}
