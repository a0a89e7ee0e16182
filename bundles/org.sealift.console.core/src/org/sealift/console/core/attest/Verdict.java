package org.sealift.console.core.attest;

import java.time.Instant;
import java.util.List;

/**
 * The result of verifying one record (or one log): pass or fail, and exactly why.
 *
 * @param subject  what was verified ("record m=3fa9… (web-1: h1 → h2, COMMITTED)")
 * @param ok       true if every check passed
 * @param failures each failed check, one sentence naming what is wrong (from the protocol's verifier)
 * @param notes    facts that are not failures
 * @param checked  when the verification ran
 */
public record Verdict(String subject, boolean ok, List<String> failures, List<String> notes, Instant checked) {

    public Verdict {
        failures = List.copyOf(failures);
        notes = List.copyOf(notes);
        if (ok != failures.isEmpty()) {
            throw new IllegalArgumentException("a verdict passes exactly when it lists no failure");
        }
    }

    /** "PASS" or "FAIL: first failure". */
    public String headline() {
        return ok ? "PASS" : "FAIL: " + failures.get(0);
    }
}
