package org.sealift.console.agent.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.migration.InDoubtMigration;
import org.sealift.console.core.migration.InDoubtService;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** In-doubt migrations over {@code GET /v1/in-doubt} and the token export and import of each agent. */
@Component(service = InDoubtService.class)
public final class AgentInDoubtService implements InDoubtService {

    private AgentDirectory directory;

    /** For DS. */
    public AgentInDoubtService() {
    }

    public AgentInDoubtService(AgentDirectory directory) {
        this.directory = directory;
    }

    @Reference
    void bindDirectory(AgentDirectory d) {
        directory = d;
    }

    @Override
    public Listing list() {
        List<InDoubtMigration> out = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (AgentRef a : directory.agents()) {
            try {
                for (JsonNode m : directory.api(a).get("/v1/in-doubt")) {
                    out.add(new InDoubtMigration(a.name(), m.path("id").asText(), text(m, "role"), text(m, "vm"),
                            text(m, "peer"), text(m, "state"), text(m, "detail")));
                }
            } catch (AgentException e) {
                problems.add(e.getMessage());
            }
        }
        return new Listing(out, problems);
    }

    @Override
    public String exportToken(String hostId, String migrationId, TokenKind kind) throws AgentException {
        AgentApi api = directory.api(hostId);
        JsonNode t = api.get("/v1/in-doubt/" + checkId(migrationId) + "/token?kind="
                + kind.name().toLowerCase(Locale.ROOT));
        String file = t.path("file").asText("");
        if (file.isEmpty()) {
            throw new AgentException(api.describe() + " answered the token export of migration " + migrationId
                    + " without a token file: " + t);
        }
        return file;
    }

    @Override
    public InDoubtMigration importToken(String hostId, String migrationId, String tokenFile) throws AgentException {
        AgentApi api = directory.api(hostId);
        ObjectNode body = AgentApi.mapper().createObjectNode();
        body.put("token", tokenFile);
        JsonNode d = api.post("/v1/in-doubt/" + checkId(migrationId) + "/token", body);
        return new InDoubtMigration(hostId, d.path("migrationId").asText(migrationId), text(d, "role"),
                text(d, "vm"), "", text(d, "state"), text(d, "detail"));
    }

    /** Ids go into URL paths: hex only, as the agents print them. */
    private static String checkId(String id) throws AgentException {
        if (id == null || !id.matches("[0-9a-fA-F]{8,64}")) {
            throw new AgentException("'" + id + "' is not a migration id: use the hex id the agents list (8 or more"
                    + " leading digits are enough)");
        }
        return id.toLowerCase(Locale.ROOT);
    }

    private static String text(JsonNode n, String field) {
        JsonNode f = n.get(field);
        return f == null || f.isNull() ? "" : f.asText();
    }
}
