package org.sealift.console.core.lab;

/**
 * Whether an injected attack was caught, in a sentence a trainee can read.
 *
 * @param attack  the attack's label
 * @param caught  true if the migration ended the way the protection should end it and the refusal is on record
 * @param message what happened
 */
public record LabVerdict(String attack, boolean caught, String message) {

    public static LabVerdict caught(String attack, String message) {
        return new LabVerdict(attack, true, message);
    }

    public static LabVerdict notCaught(String attack, String message) {
        return new LabVerdict(attack, false, message);
    }

    /** "CAUGHT: replay — ended ABORTED_BY_DESTINATION (…)" or "NOT CAUGHT: …". */
    public String headline() {
        return (caught ? "CAUGHT: " : "NOT CAUGHT: ") + attack + " \u2014 " + message;
    }
}
