package org.sealift.console.core.attest;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.sealift.protocol.pki.Hex;

/** JSON and printable HTML forms of attestation records and their verdicts. */
public final class AttestationExport {

    private AttestationExport() {
    }

    /**
     * A JSON array; each element holds the record's own JSON view ({@code SignedRecord.toJson()}: record, hash,
     * signatures), where it came from and, if verified, the verdict.
     */
    public static String json(List<AttestationEntry> entries, Map<String, Verdict> verdicts) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < entries.size(); i++) {
            AttestationEntry e = entries.get(i);
            sb.append(i == 0 ? "\n" : ",\n").append("  {\"origin\": ").append(jsonString(e.origin()));
            if (e.logHost() != null) {
                sb.append(", \"log\": {\"host\": ").append(jsonString(e.logHost())).append(", \"index\": ")
                        .append(e.logIndex()).append('}');
            }
            Verdict v = verdicts.get(e.key());
            if (v != null) {
                sb.append(", \"verification\": {\"ok\": ").append(v.ok()).append(", \"checked\": ")
                        .append(jsonString(v.checked().toString())).append(", \"failures\": ")
                        .append(jsonArray(v.failures())).append(", \"notes\": ").append(jsonArray(v.notes()))
                        .append('}');
            }
            sb.append(", \"signedRecord\": ").append(e.signed().toJson()).append('}');
        }
        return sb.append(entries.isEmpty() ? "]\n" : "\n]\n").toString();
    }

    private static String jsonArray(List<String> items) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(jsonString(items.get(i)));
        }
        return sb.append(']').toString();
    }

    static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** A self-contained HTML page (inline CSS, print-friendly): a summary table, then every record's fields. */
    public static String html(List<AttestationEntry> entries, Map<String, Verdict> verdicts, Instant generated) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Sealift attestation"
                + " report</title>\n<style>\n"
                + "body{font-family:sans-serif;font-size:10pt;margin:2em;color:#222}\n"
                + "table{border-collapse:collapse;margin-bottom:1.5em;width:100%}\n"
                + "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
                + "th{background:#eef1f4}\ntd.mono{font-family:monospace;word-break:break-all}\n"
                + ".pass{color:#1b6e20;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
                + ".none{color:#777}\nsection{page-break-inside:avoid}\n"
                + "@media print{body{margin:0}th{background:#eee}}\n</style></head><body>\n");
        sb.append("<h1>Sealift attestation report</h1>\n<p>").append(entries.size()).append(" record")
                .append(entries.size() == 1 ? "" : "s").append(", generated ").append(esc(generated.toString()))
                .append(". A record passes only if its signatures verify with AK certificates that chain to the"
                        + " cluster CA, its measurements match, and the policy accepts it.</p>\n");
        sb.append("<table><tr><th>Migration</th><th>VM</th><th>Source \u2192 destination</th><th>Started (UTC)</th>"
                + "<th>Outcome</th><th>Reason</th><th>Verification</th></tr>\n");
        for (AttestationEntry e : entries) {
            Verdict v = verdicts.get(e.key());
            sb.append("<tr><td class=\"mono\"><a href=\"#m").append(e.migrationId()).append("\">")
                    .append(esc(e.label())).append("</a></td><td class=\"mono\">").append(esc(e.vmId()))
                    .append("</td><td>").append(esc(e.sourceHost())).append(" \u2192 ")
                    .append(esc(e.destinationHost())).append("</td><td>").append(esc(e.started().toString()))
                    .append("</td><td>").append(e.outcome()).append("</td><td>")
                    .append(esc(e.record().reasonName())).append("</td><td>").append(verdictHtml(v))
                    .append("</td></tr>\n");
        }
        sb.append("</table>\n");
        for (AttestationEntry e : entries) {
            Verdict v = verdicts.get(e.key());
            sb.append("<section id=\"m").append(e.migrationId()).append("\"><h2>Record ").append(esc(e.label()))
                    .append("</h2>\n<p>From ").append(esc(e.origin()));
            if (e.logHost() != null) {
                sb.append(" (log of host ").append(esc(e.logHost())).append(", entry ").append(e.logIndex())
                        .append(')');
            }
            sb.append(". Record hash <span class=\"mono\">").append(Hex.encode(e.record().hash()))
                    .append("</span>.</p>\n<p>Verification: ").append(verdictHtml(v)).append("</p>\n");
            if (v != null && !v.ok()) {
                sb.append("<ul>");
                v.failures().forEach(f -> sb.append("<li class=\"fail\">").append(esc(f)).append("</li>"));
                sb.append("</ul>\n");
            }
            if (v != null && !v.notes().isEmpty()) {
                sb.append("<ul>");
                v.notes().forEach(n -> sb.append("<li>").append(esc(n)).append("</li>"));
                sb.append("</ul>\n");
            }
            sb.append("<table><tr><th>Field</th><th>Value</th></tr>\n");
            for (Map.Entry<String, String> f : e.record().fields().entrySet()) {
                sb.append("<tr><td>").append(esc(f.getKey())).append("</td><td class=\"mono\">")
                        .append(esc(f.getValue())).append("</td></tr>\n");
            }
            sb.append("<tr><td>signatures</td><td>").append(e.signed().hasSignature(
                    org.sealift.protocol.attest.AttestationRecord.Side.SOURCE) ? "source" : "")
                    .append(e.signed().hasSignature(org.sealift.protocol.attest.AttestationRecord.Side.DESTINATION)
                            ? " destination" : "")
                    .append("</td></tr>\n</table></section>\n");
        }
        return sb.append("</body></html>\n").toString();
    }

    private static String verdictHtml(Verdict v) {
        if (v == null) {
            return "<span class=\"none\">not verified</span>";
        }
        return v.ok() ? "<span class=\"pass\">PASS</span> (" + esc(v.checked().toString()) + ")"
                : "<span class=\"fail\">FAIL</span>: " + esc(v.failures().get(0));
    }

    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
