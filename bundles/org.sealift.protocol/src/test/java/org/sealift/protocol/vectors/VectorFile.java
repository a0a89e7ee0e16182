package org.sealift.protocol.vectors;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The cross-language test-vector format shared with native/xen-protection/tests/vecfile.h. Line based, ASCII:
 *
 * <pre>
 * # comment
 * format sealift-vectors 1
 * section &lt;kind&gt; &lt;name&gt;
 * &lt;field&gt; &lt;token&gt; [&lt;token&gt; ...]
 * end
 * </pre>
 *
 * Every token is lowercase hex: byte strings as they are, integers as fixed-width big-endian (u8 2 digits, u32 8,
 * u64 16), so the C reader needs one parser. Fields keep their order: a scenario is a list of steps.
 */
final class VectorFile {

    static final String FORMAT_LINE = "format sealift-vectors 1";
    private static final HexFormat HEX = HexFormat.of();

    /** One {@code field tokens...} line. */
    record Line(String field, List<String> tokens) {
        byte[] bytes(int index) {
            return HEX.parseHex(tokens.get(index));
        }

        long u64(int index) {
            return Long.parseUnsignedLong(tokens.get(index), 16);
        }

        int u32(int index) {
            return Integer.parseUnsignedInt(tokens.get(index), 16);
        }
    }

    record Section(String kind, String name, List<Line> lines) {
        Line first(String field) {
            for (Line l : lines) {
                if (l.field.equals(field)) {
                    return l;
                }
            }
            throw new IllegalArgumentException("section " + kind + " " + name + " has no field '" + field + "'");
        }

        List<Line> all(String field) {
            List<Line> out = new ArrayList<>();
            for (Line l : lines) {
                if (l.field.equals(field)) {
                    out.add(l);
                }
            }
            return out;
        }
    }

    /** Writes a vector file; fields in call order. */
    static final class Writer {
        private final StringBuilder out = new StringBuilder();

        Writer comment(String text) {
            for (String line : text.split("\n", -1)) {
                out.append("# ").append(line).append('\n');
            }
            return this;
        }

        Writer format() {
            out.append(FORMAT_LINE).append('\n');
            return this;
        }

        Writer section(String kind, String name) {
            out.append("section ").append(kind).append(' ').append(name).append('\n');
            return this;
        }

        Writer end() {
            out.append("end\n");
            return this;
        }

        /** A field whose tokens are already hex (see {@link #hex}, {@link #u32}, {@link #u64}). */
        Writer field(String name, String... tokens) {
            out.append(name);
            for (String t : tokens) {
                out.append(' ').append(t);
            }
            out.append('\n');
            return this;
        }

        @Override
        public String toString() {
            return out.toString();
        }
    }

    static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    static String u8(int v) {
        return String.format("%02x", v & 0xff);
    }

    static String u32(int v) {
        return String.format("%08x", v);
    }

    static String u64(long v) {
        return String.format("%016x", v);
    }

    /** Parses a whole file; any line outside the grammar is an error naming its number. */
    static List<Section> parse(String text) {
        List<Section> sections = new ArrayList<>();
        Section current = null;
        boolean sawFormat = false;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] t = line.split(" ");
            String where = "vector line " + (i + 1) + " (\"" + (line.length() > 60 ? line.substring(0, 60) + "…"
                    : line) + "\")";
            if (!sawFormat) {
                if (!line.equals(FORMAT_LINE)) {
                    throw new IllegalArgumentException(where + ": expected '" + FORMAT_LINE + "' first");
                }
                sawFormat = true;
            } else if (t[0].equals("section")) {
                if (current != null || t.length != 3) {
                    throw new IllegalArgumentException(where + ": 'section <kind> <name>' outside a section");
                }
                current = new Section(t[1], t[2], new ArrayList<>());
            } else if (t[0].equals("end")) {
                if (current == null) {
                    throw new IllegalArgumentException(where + ": 'end' without a section");
                }
                sections.add(current);
                current = null;
            } else {
                if (current == null) {
                    throw new IllegalArgumentException(where + ": field outside a section");
                }
                List<String> tokens = new ArrayList<>();
                for (int k = 1; k < t.length; k++) {
                    if (!t[k].matches("[0-9a-f]*") || t[k].length() % 2 != 0) {
                        throw new IllegalArgumentException(where + ": token " + k + " is not even-length lowercase hex");
                    }
                    tokens.add(t[k]);
                }
                current.lines().add(new Line(t[0], tokens));
            }
        }
        if (current != null) {
            throw new IllegalArgumentException("vector file ends inside section " + current.name());
        }
        return sections;
    }

    private VectorFile() {
    }
}
