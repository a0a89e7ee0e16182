package org.sealift.agent.xen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;

/**
 * Writes the libxl domain configuration (libxl's JSON form, what {@code xl -N create <cfg>} prints) that
 * slx_domain_create takes. A template from the operator supplies what a Sealift DomainConfig does not know (kernel,
 * disks, network); Sealift sets the name, memory and vCPUs, so source and destination always agree on those. Without a
 * template the configuration is what libxl needs to build a domain of {@code xen.domain-type} with {@code xen.kernel}
 * and {@code xen.cmdline} (a PVH guest kernel needs nothing else).
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
        buildTypeUnion(bInfo, cInfo.path("type").asText());
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

    /**
     * libxl's build info is a union keyed by the domain type, written {@code "type.pvh": {...}} in its JSON; libxl
     * takes b_info's type from that key, and without it refuses the configuration ("Unable to set domain build info
     * defaults": b_info's type is then unset and differs from c_info's). So b_info gets the member of c_info's type,
     * empty (libxl's defaults) unless the template has it, and loses a template's member of another type.
     */
    private static void buildTypeUnion(ObjectNode bInfo, String type) throws HypervisorException {
        String key = "type." + type;
        List<String> others = new ArrayList<>();
        bInfo.fieldNames().forEachRemaining(f -> {
            if (f.startsWith("type.") && !f.equals(key)) {
                others.add(f);
            }
        });
        bInfo.remove(others);
        JsonNode member = bInfo.get(key);
        if (member == null || member.isNull()) {
            bInfo.putObject(key);
        } else if (!member.isObject()) {
            throw new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, "the libxl template's b_info \""
                    + key + "\" is not an object; use the JSON that `xl -N create` prints");
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
