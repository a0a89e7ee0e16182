package org.sealift.console.core.attest;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;

import org.sealift.protocol.attest.Outcome;

/**
 * What the security officer narrowed the table to. Text fields match anywhere, ignoring case; dates are whole UTC
 * days, both ends included; null or blank means "any".
 *
 * @param vm          part of the VM id
 * @param host        part of the source or destination host id
 * @param outcome     one outcome, or null
 * @param from        first day, or null
 * @param to          last day, or null
 * @param migrationId start of the migration id (hex), or null
 */
public record AttestationFilter(String vm, String host, Outcome outcome, LocalDate from, LocalDate to,
        String migrationId) {

    public static final AttestationFilter ALL = new AttestationFilter(null, null, null, null, null, null);

    public AttestationFilter {
        if (from != null && to != null && to.isBefore(from)) {
            throw new IllegalArgumentException("the date range ends (" + to + ") before it starts (" + from
                    + "): swap the dates");
        }
    }

    public boolean matches(AttestationEntry e) {
        if (!contains(e.vmId(), vm)) {
            return false;
        }
        if (host != null && !host.isBlank() && !contains(e.sourceHost(), host) && !contains(e.destinationHost(), host)) {
            return false;
        }
        if (outcome != null && e.outcome() != outcome) {
            return false;
        }
        LocalDate day = LocalDate.ofInstant(e.started(), ZoneOffset.UTC);
        if (from != null && day.isBefore(from) || to != null && day.isAfter(to)) {
            return false;
        }
        return migrationId == null || migrationId.isBlank()
                || e.migrationId().startsWith(migrationId.trim().toLowerCase(Locale.ROOT));
    }

    private static boolean contains(String value, String part) {
        return part == null || part.isBlank()
                || value.toLowerCase(Locale.ROOT).contains(part.trim().toLowerCase(Locale.ROOT));
    }

    public AttestationFilter withMigrationId(String id) {
        return new AttestationFilter(vm, host, outcome, from, to, id);
    }
}
