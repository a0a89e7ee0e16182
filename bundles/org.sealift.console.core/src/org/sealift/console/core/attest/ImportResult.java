package org.sealift.console.core.attest;

import java.util.List;

/**
 * What reading a file gave.
 *
 * @param added    records not seen before
 * @param known    records already held
 * @param problems each names the file, the problem and the fix
 */
public record ImportResult(int added, int known, List<String> problems) {

    public ImportResult {
        problems = List.copyOf(problems);
    }
}
