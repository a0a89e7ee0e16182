package org.sealift.console.core.migration;

import java.util.Objects;

/**
 * One pre-flight check and how it went.
 *
 * @param name    what was checked, e.g. "destination attested"
 * @param verdict pass, warn or fail
 * @param message what was found; for a failure, the problem and the fix
 */
public record CheckResult(String name, Verdict verdict, String message) {

    public enum Verdict {
        PASS, WARN, FAIL
    }

    public CheckResult {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(verdict, "verdict");
        message = message == null ? "" : message;
    }

    public static CheckResult pass(String name, String message) {
        return new CheckResult(name, Verdict.PASS, message);
    }

    public static CheckResult warn(String name, String message) {
        return new CheckResult(name, Verdict.WARN, message);
    }

    public static CheckResult fail(String name, String message) {
        return new CheckResult(name, Verdict.FAIL, message);
    }
}
