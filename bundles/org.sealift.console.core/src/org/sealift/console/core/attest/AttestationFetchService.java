package org.sealift.console.core.attest;

import org.eclipse.core.runtime.IProgressMonitor;

/**
 * Reads the attestation logs of every connected agent ({@code GET /v1/attestations}, paged) into the
 * {@link AttestationReviewService}. The agent client implements it. The agents are untrusted: what they hand over
 * is judged by {@link AttestationReviewService#verify}. Blocks (network); run it in a job.
 */
public interface AttestationFetchService {

    /**
     * Fetches the entries not fetched before from every agent.
     *
     * @return records added and already known; one problem per agent that could not be read (naming it and the fix)
     */
    ImportResult fetchAll(IProgressMonitor monitor);
}
