package org.sealift.console.agent.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.core.runtime.SubMonitor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.sealift.console.agent.AgentApi;
import org.sealift.console.agent.AgentDirectory;
import org.sealift.console.core.attest.AttestationEntry;
import org.sealift.console.core.attest.AttestationFetchService;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.attest.ImportResult;
import org.sealift.console.core.inventory.AgentException;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.attest.SignedRecord;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Pages through every agent's attestation log ({@code GET /v1/attestations?from=N&limit=M}) and hands the signed
 * records, with their host and index, to the review service. Only entries not read before are asked for. Nothing the
 * agent says about a record is taken over: the record is parsed from its PEM and judged by the verifier.
 */
@Component(service = AttestationFetchService.class)
public final class AgentAttestationFetcher implements AttestationFetchService {

    static final int PAGE = 100;

    private AgentDirectory directory;
    private AttestationReviewService review;
    /** Per agent address and host: the index of the first entry not read yet. */
    private final Map<String, Long> next = new ConcurrentHashMap<>();

    /** For DS. */
    public AgentAttestationFetcher() {
    }

    public AgentAttestationFetcher(AgentDirectory directory, AttestationReviewService review) {
        this.directory = directory;
        this.review = review;
    }

    @Reference
    void bindDirectory(AgentDirectory d) {
        directory = d;
    }

    @Reference
    void bindReview(AttestationReviewService r) {
        review = r;
    }

    @Override
    public ImportResult fetchAll(IProgressMonitor monitor) {
        List<AgentApi> apis = directory.apis();
        SubMonitor sub = SubMonitor.convert(monitor, "Reading the agents' attestation logs", apis.size() + 1);
        List<String> problems = new ArrayList<>();
        directory.problem().ifPresent(p -> problems.add("cannot read the agents' attestation logs: "
                + p.getMessage()));
        int added = 0;
        int known = 0;
        for (AgentApi api : apis) {
            if (sub.isCanceled()) {
                break;
            }
            sub.subTask(api.describe());
            List<AttestationEntry> entries = new ArrayList<>();
            try {
                read(api, entries, problems);
            } catch (AgentException e) {
                problems.add(e.getMessage());
            }
            ImportResult r = review.addEntries(entries);
            added += r.added();
            known += r.known();
            sub.worked(1);
        }
        return new ImportResult(added, known, problems);
    }

    private void read(AgentApi api, List<AttestationEntry> out, List<String> problems) throws AgentException {
        String host = api.agent().name();
        String key = host + " " + api.agent().address();
        long from = next.getOrDefault(key, 0L);
        String origin = "agent " + host + " (" + api.agent().address() + ")";
        while (true) {
            JsonNode page = api.get("/v1/attestations?from=" + from + "&limit=" + PAGE);
            long size = page.path("size").asLong(0);
            if (size < from) {
                problems.add("the attestation log of host " + host + " has " + size + " entries, fewer than the "
                        + from + " the console read before: it was truncated or replaced; verify it with 'sealift"
                        + " verify --agent " + host + "' (the console reads it again from the start)");
                from = 0;
                continue;
            }
            JsonNode entries = page.path("entries");
            for (JsonNode e : entries) {
                long index = e.path("index").asLong(-1);
                String pem = e.path("pem").asText("");
                if (pem.isEmpty()) {
                    problems.add("entry " + index + " of host " + host + "'s attestation log does not parse at the"
                            + " agent (" + e.path("record").asText("") + "); check the log with 'sealift verify"
                            + " --agent " + host + "'");
                    continue;
                }
                try {
                    out.add(new AttestationEntry(SignedRecord.fromPem(pem), origin, host, index));
                } catch (ProtocolException ex) {
                    problems.add("entry " + index + " of host " + host + "'s attestation log is not a valid record: "
                            + ex.getMessage());
                }
            }
            from += entries.size();
            next.put(key, from);
            if (entries.isEmpty() || from >= size) {
                return;
            }
        }
    }
}
