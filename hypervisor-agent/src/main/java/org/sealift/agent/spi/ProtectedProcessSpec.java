package org.sealift.agent.spi;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A process the hypervisor protects (CHAOS/Overshadow): its name and the guest pages it owns. The layout is public
 * (dom0 sees which pfns are protected); the contents, key and versions are not.
 *
 * @param name   process name, e.g. "vault"
 * @param ranges the guest pages it owns, not overlapping
 */
public record ProtectedProcessSpec(String name, List<PfnRange> ranges) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public ProtectedProcessSpec {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("protected process name \"" + name
                    + "\" is invalid: use 1-63 letters, digits, '.', '_' or '-'");
        }
        ranges = List.copyOf(ranges);
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("protected process " + name + " owns no pages: give at least one range");
        }
        for (int i = 0; i < ranges.size(); i++) {
            for (int j = i + 1; j < ranges.size(); j++) {
                if (ranges.get(i).overlaps(ranges.get(j))) {
                    throw new IllegalArgumentException("protected process " + name + ": ranges " + ranges.get(i)
                            + " and " + ranges.get(j) + " overlap; give each page once");
                }
            }
        }
    }

    /** A process owning one contiguous range. */
    public static ProtectedProcessSpec of(String name, long firstPfn, long pages) {
        return new ProtectedProcessSpec(name, List.of(new PfnRange(firstPfn, pages)));
    }

    public long pageCount() {
        long n = 0;
        for (PfnRange r : ranges) {
            n += r.count();
        }
        return n;
    }
}
