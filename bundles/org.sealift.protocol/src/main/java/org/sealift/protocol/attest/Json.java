package org.sealift.protocol.attest;

/**
 * A tiny JSON writer for the human views of records and verification results (no dependency for this). Callers
 * write a well-formed sequence; the writer handles commas, indentation and string escaping (RFC 8259).
 */
final class Json {

    private final StringBuilder out = new StringBuilder();
    private final boolean[] needsComma = new boolean[32];
    private int depth;
    private boolean afterName;

    Json beginObject() {
        value();
        out.append('{');
        push();
        return this;
    }

    Json endObject() {
        pop('}');
        return this;
    }

    Json beginArray() {
        value();
        out.append('[');
        push();
        return this;
    }

    Json endArray() {
        pop(']');
        return this;
    }

    Json name(String name) {
        separator();
        quote(name);
        out.append(": ");
        afterName = true;
        return this;
    }

    Json string(String s) {
        value();
        if (s == null) {
            out.append("null");
        } else {
            quote(s);
        }
        return this;
    }

    /** Unsigned 64-bit integer as a JSON number. */
    Json unsigned(long v) {
        value();
        out.append(Long.toUnsignedString(v));
        return this;
    }

    Json bool(boolean b) {
        value();
        out.append(b);
        return this;
    }

    Json field(String name, String value) {
        return name(name).string(value);
    }

    Json field(String name, long unsignedValue) {
        return name(name).unsigned(unsignedValue);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private void value() {
        if (!afterName) {
            separator();
        }
        afterName = false;
    }

    private void separator() {
        if (depth > 0) {
            if (needsComma[depth]) {
                out.append(',');
            }
            needsComma[depth] = true;
            newline();
        }
    }

    private void push() {
        depth++;
        needsComma[depth] = false;
    }

    private void pop(char close) {
        boolean empty = !needsComma[depth];
        depth--;
        if (!empty) {
            newline();
        }
        out.append(close);
    }

    private void newline() {
        out.append('\n');
        for (int i = 0; i < depth; i++) {
            out.append("  ");
        }
    }

    private void quote(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
