package org.sealift.console.core.lab.internal;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sealift.console.core.lab.LabException;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Pem;

/**
 * The few management-API calls a lab reset makes (list, destroy and create VMs, list migrations), with the lab
 * operator's certificate over mutual TLS 1.3. The agent is identified by the host id in its certificate, issued by
 * the lab CA (agents are reached by loopback address, so there is no DNS name to check).
 */
final class LabAgentClient {

    private final String host;
    private final URI base;
    private final HttpClient http;

    LabAgentClient(String host, URI base, Path operatorCert, Path operatorKey, Path ca) throws LabException {
        this.host = host;
        this.base = base;
        try {
            List<X509Certificate> own = Certificates.read(operatorCert);
            PrivateKey key = Pem.readPrivateKey(operatorKey);
            X509Certificate caCert = Certificates.read(ca).get(0);
            char[] pw = "in-memory".toCharArray(); // the key store never leaves memory
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("operator", key, pw, own.toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(ks, pw);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), new TrustManager[] { new AgentTrust(caCert, host) }, new SecureRandom());
            SSLParameters params = ctx.getDefaultSSLParameters();
            params.setProtocols(new String[] { "TLSv1.3" });
            http = HttpClient.newBuilder().sslContext(ctx).sslParameters(params)
                    .connectTimeout(Duration.ofSeconds(10)).build();
        } catch (IOException | GeneralSecurityException | IndexOutOfBoundsException e) {
            throw new LabException("cannot use the lab operator's credentials (" + operatorCert + ", " + operatorKey
                    + ", " + ca + "): " + e.getMessage() + "; restart the lab with 'sealift lab' to make new ones", e);
        }
    }

    /** The management API's JSON, read with the console's Jackson (the agent client's library too). */
    static final ObjectMapper JSON = new ObjectMapper();

    JsonNode get(String path) throws LabException {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET(), "GET " + path);
    }

    JsonNode delete(String path) throws LabException {
        return send(HttpRequest.newBuilder(base.resolve(path)).DELETE(), "DELETE " + path);
    }

    JsonNode post(String path, Map<String, Object> body) throws LabException {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new LabException("cannot write the request " + path + ": " + e.getMessage(), e);
        }
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(text)), "POST " + path);
    }

    /** {@code key} of a JSON object the API must have sent, as text. */
    static String text(JsonNode object, String key, String what) throws LabException {
        JsonNode v = object == null ? null : object.get(key);
        if (v == null || v.isNull() || v.isContainerNode()) {
            throw new LabException("a lab agent sent a " + what + " without '" + key + "': " + object
                    + "; is the lab's agent jar older than this console? restart the lab with 'sealift lab'");
        }
        return v.asText();
    }

    static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The agent answered with an error; {@code code} is the API's stable error code. */
    static final class ApiError extends LabException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    private JsonNode send(HttpRequest.Builder b, String what) throws LabException {
        HttpResponse<String> r;
        try {
            r = http.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new LabException("the agent of lab host " + host + " (" + base + ") did not answer " + what + ": "
                    + e.getMessage() + "; check that the lab runs ('sealift lab')", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while asking lab host " + host + ": " + what, e);
        }
        JsonNode json;
        try {
            json = r.body().isBlank() ? null : JSON.readTree(r.body());
        } catch (JsonProcessingException e) {
            throw new LabException("lab host " + host + " answered " + what + " with something that is not JSON ("
                    + e.getMessage() + ")", e);
        }
        if (r.statusCode() >= 300) {
            String code = json != null && json.hasNonNull("error") ? json.get("error").asText() : "";
            String msg = json != null && json.hasNonNull("message") ? json.get("message").asText()
                    : "HTTP " + r.statusCode();
            throw new ApiError(r.statusCode(), code, "lab host " + host + " refused " + what + ": " + msg);
        }
        return json;
    }

    /** Trusts exactly the agent TLS certificate of {@code host} issued by the lab CA. */
    private static final class AgentTrust extends X509ExtendedTrustManager {
        private final X509Certificate ca;
        private final String host;

        AgentTrust(X509Certificate ca, String host) {
            this.ca = ca;
            this.host = host;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("lab host " + host + " presented no certificate");
            }
            X509Certificate leaf = chain[0];
            try {
                leaf.verify(ca.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new CertificateException("the agent at the address of lab host " + host + " presented "
                        + Certificates.describe(leaf) + ", which the lab CA did not issue: another lab runs"
                        + " there; re-read the lab folder", e);
            }
            leaf.checkValidity();
            String cn = Certificates.subjectCn(leaf);
            if (!host.equals(cn)) {
                throw new CertificateException("the agent at the address of lab host " + host + " is " + cn
                        + ": lab.json is out of date; re-read the lab folder");
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the lab client accepts no clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("the lab client accepts no clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("the lab client accepts no clients");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[] { ca };
        }
    }
}
