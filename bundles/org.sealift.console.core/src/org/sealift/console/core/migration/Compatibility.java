package org.sealift.console.core.migration;

import java.util.List;

/**
 * Whether a VM may be moved to a host, and why not. A refusal blocks the migration (the drop is refused, the wizard
 * cannot finish); a warning is shown but does not block.
 *
 * @param refusals each names the problem and the fix
 * @param warnings each names something the person should know
 */
public record Compatibility(List<String> refusals, List<String> warnings) {

    public Compatibility {
        refusals = List.copyOf(refusals);
        warnings = List.copyOf(warnings);
    }

    public boolean allowed() {
        return refusals.isEmpty();
    }

    /** The first refusal, or "" when allowed: what a drop target shows in one line. */
    public String reason() {
        return refusals.isEmpty() ? "" : refusals.get(0);
    }
}
