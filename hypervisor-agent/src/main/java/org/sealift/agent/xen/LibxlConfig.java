package org.sealift.agent.xen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;

/**
 * Writes the libxl domain configuration (libxl's JSON form, what {@code xl -N create <cfg>} prints) that
 * slx_domain_create takes. A template from the operator supplies what a Sealift DomainConfig does not know (kernel,
 * disks, network); Sealift sets the name, memory and vCPUs, so source and destination always agree on those.
 */
final class LibxlConfig {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LibxlConfig() {
    }

    static String toJson(DomainConfig config, XenBackend.Options options) throws HypervisorException {
        ObjectNode root = template(options.template());
        ObjectNode cInfo = object(root, "c_info");
        ObjectNode bInfo = object(root, "b_info");
        if (!cInfo.has("type") || options.domainTypeSet()) {
            cInfo.put("type", options.domainType());
        }
        cInfo.put("name", config.name());
        long kib = (long) config.memoryMiB() * 1024;
        bInfo.put("max_vcpus", config.vcpus());
        bInfo.put("max_memkb", kib);
        bInfo.put("target_memkb", kib);
        options.kernel().ifPresent(k -> bInfo.put("kernel", k));
        options.cmdline().ifPresent(c -> bInfo.put("cmdline", c));
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new HypervisorException(HypervisorException.Reason.INTERNAL, "writing the libxl configuration of "
                    + config.name() + " failed: " + e.getOriginalMessage(), e);
        }
    }

    private static ObjectNode template(Optional<Path> file) throws HypervisorException {
        if (file.isEmpty()) {
            return JSON.createObjectNode();
        }
        Path p = file.get();
        JsonNode n;
        try {
            n = JSON.readTree(Files.readString(p));
        } catch (IOException e) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "xen.template " + p
                    + " cannot be read as JSON (" + e.getMessage() + "); write it with `xl -N create <cfg> > " + p
                    + "`", e);
        }
        if (!(n instanceof ObjectNode o)) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "xen.template " + p
                    + " is not a JSON object; write it with `xl -N create <cfg> > " + p + "`");
        }
        return o;
    }

    private static ObjectNode object(ObjectNode root, String field) throws HypervisorException {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return root.putObject(field);
        }
        if (!(n instanceof ObjectNode o)) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "the libxl template's \""
                    + field + "\" is not an object; use the JSON that `xl -N create` prints");
        }
        return o;
    }
}
