package org.sealift.console.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsException;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.core.settings.TrustMaterial;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Policy;
import org.sealift.protocol.pki.Role;
import org.sealift.protocol.pki.SignedPolicy;

/**
 * Reads the trust anchor, policy and AK certificates named in the settings. The result is cached until a setting
 * or a file's modification time changes, because the compatibility check asks for the policy on every drag-over.
 */
@Component(service = TrustMaterialService.class)
public final class TrustMaterialServiceImpl implements TrustMaterialService {

    private SettingsService settings;
    private Cached cached;

    private record Cached(ConsoleSettings settings, List<FileTime> stamps, TrustMaterial material,
            SettingsException problem) {
    }

    /** For DS. */
    public TrustMaterialServiceImpl() {
    }

    public TrustMaterialServiceImpl(SettingsService settings) {
        this.settings = settings;
    }

    @Reference
    void bindSettings(SettingsService s) {
        settings = s;
    }

    @Override
    public synchronized TrustMaterial load() throws SettingsException {
        ConsoleSettings s = settings.effective();
        List<FileTime> stamps = stamps(s);
        if (cached == null || !cached.settings.equals(s) || !cached.stamps.equals(stamps)) {
            try {
                cached = new Cached(s, stamps, read(s), null);
            } catch (SettingsException e) {
                cached = new Cached(s, stamps, null, e);
            }
        }
        if (cached.problem != null) {
            throw cached.problem;
        }
        return cached.material;
    }

    @Override
    public Optional<Policy> policy() {
        ConsoleSettings s = settings.effective();
        if (s.trustAnchor() == null || s.policy() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(loadPolicyOnly(s));
        } catch (SettingsException e) {
            return Optional.empty();
        }
    }

    private synchronized Policy loadPolicyOnly(ConsoleSettings s) throws SettingsException {
        try {
            return load().policy();
        } catch (SettingsException e) {
            // the AK certificates may be what is missing; the policy alone is still usable for compatibility checks
            if (s.akCertificates() == null || !Files.exists(s.akCertificates())) {
                return readPolicy(readTrust(s), s);
            }
            throw e;
        }
    }

    private static List<FileTime> stamps(ConsoleSettings s) {
        List<FileTime> out = new ArrayList<>();
        for (Path p : new Path[] { s.trustAnchor(), s.policy(), s.akCertificates() }) {
            try {
                out.add(p == null ? null : Files.getLastModifiedTime(p));
            } catch (IOException e) {
                out.add(null);
            }
        }
        return out;
    }

    static TrustMaterial read(ConsoleSettings s) throws SettingsException {
        ClusterTrust trust = readTrust(s);
        Policy policy = readPolicy(trust, s);
        if (s.akCertificates() == null) {
            throw new SettingsException("AK certificates not set: choose, in Preferences, a PEM file or a folder with"
                    + " the hosts' AK certificates (each host's hypervisor AK certificate from 'sealift ca enroll')");
        }
        return new TrustMaterial(trust, policy, readAkCertificates(s.akCertificates()));
    }

    private static ClusterTrust readTrust(ConsoleSettings s) throws SettingsException {
        if (s.trustAnchor() == null) {
            throw new SettingsException("trust anchor not set: choose cluster-trust.pem (from 'sealift ca init') in"
                    + " Preferences");
        }
        try {
            return ClusterTrust.load(s.trustAnchor());
        } catch (IOException e) {
            throw new SettingsException("cannot read trust anchor " + s.trustAnchor() + ": " + e.getMessage()
                    + "; choose cluster-trust.pem in Preferences", e);
        } catch (ProtocolException e) {
            throw new SettingsException("trust anchor " + s.trustAnchor() + " is not a cluster trust file: "
                    + e.getMessage(), e);
        }
    }

    private static Policy readPolicy(ClusterTrust trust, ConsoleSettings s) throws SettingsException {
        if (s.policy() == null) {
            throw new SettingsException("cluster policy not set: choose the signed policy (from 'sealift ca"
                    + " sign-policy') in Preferences");
        }
        try {
            return SignedPolicy.load(s.policy()).verify(trust);
        } catch (IOException e) {
            throw new SettingsException("cannot read policy " + s.policy() + ": " + e.getMessage(), e);
        } catch (ProtocolException e) {
            throw new SettingsException("policy " + s.policy() + " is not accepted: " + e.getMessage()
                    + "; it must be signed by the policy key of " + trust.describe(), e);
        }
    }

    private static List<X509Certificate> readAkCertificates(Path where) throws SettingsException {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(where)) {
            // a lab keeps each host's ak.crt in hosts/<id>/credentials/, next to TLS certificates: look that deep,
            // and below the top level keep only attestation-key certificates
            try (Stream<Path> s = Files.walk(where, 3)) {
                s.filter(p -> {
                    String n = p.getFileName().toString();
                    return Files.isRegularFile(p) && (n.endsWith(".pem") || n.endsWith(".crt"));
                }).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new SettingsException("cannot list AK certificates in " + where + ": " + e.getMessage(), e);
            }
        } else {
            files.add(where);
        }
        List<X509Certificate> out = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Path f : files) {
            boolean nested = !f.getParent().equals(where);
            try {
                for (X509Certificate c : Certificates.read(f)) {
                    if (!nested || Certificates.role(c).orElse(null) == Role.ATTESTATION_KEY) {
                        out.add(c);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!nested) {
                    problems.add(f + ": " + e.getMessage());
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new SettingsException("cannot read AK certificates: " + String.join("; ", problems)
                    + "; each file must hold PEM CERTIFICATE blocks", problems);
        }
        if (out.isEmpty()) {
            throw new SettingsException("no AK certificates found in " + where + ": add the hosts' AK certificates"
                    + " (PEM, .pem or .crt)");
        }
        return out;
    }

    @Override
    public String toString() {
        return "trust material from " + Objects.requireNonNullElse(settings, "(no settings)");
    }
}
