package org.sealift.agent.engine.attack;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.sealift.agent.spi.SecretMarker;

/**
 * Reads a process's whole readable memory through /proc/PID/mem and looks for a secret marker that a protected
 * process wrote (G1: it must never be visible to dom0, so it must not be anywhere in the agent). The marker is
 * compared through a random pad ({@link SecretMarker}), so the scan cannot plant what it looks for.
 */
public final class MemoryScanner {

    /** What a scan covered, and where the marker was found if it was. */
    public record Result(long regions, long bytesScanned, long regionsUnreadable, Optional<String> foundIn) {
    }

    private MemoryScanner() {
    }

    /** Scans this JVM's own memory. */
    public static Result scanSelf(SecretMarker marker) throws IOException {
        return scan(ProcessHandle.current().pid(), marker);
    }

    public static Result scan(long pid, SecretMarker marker) throws IOException {
        List<String> maps = Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps"), StandardCharsets.US_ASCII);
        byte[] buf = new byte[1 << 20];
        long regions = 0;
        long bytes = 0;
        long unreadable = 0;
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            for (String line : maps) {
                String[] f = line.split("\\s+", 6);
                if (f.length < 2 || f[1].charAt(0) != 'r') {
                    continue;
                }
                String[] range = f[0].split("-");
                long start = Long.parseUnsignedLong(range[0], 16);
                long end = Long.parseUnsignedLong(range[1], 16);
                if (start < 0 || end < 0) {
                    continue; // kernel's vsyscall page
                }
                String name = f.length > 5 ? f[5] : "";
                regions++;
                long pos = start;
                int carry = 0;
                try {
                    while (pos < end) {
                        int n = (int) Math.min(buf.length - carry, end - pos);
                        mem.seek(pos);
                        mem.readFully(buf, carry, n);
                        int len = carry + n;
                        if (marker.indexIn(buf, 0, len) >= 0) {
                            return new Result(regions, bytes + n, unreadable, Optional.of(
                                    String.format("%s (%x-%x) near %x", name.isEmpty() ? "anonymous memory" : name,
                                            start, end, pos)));
                        }
                        bytes += n;
                        pos += n;
                        carry = Math.min(SecretMarker.LENGTH - 1, len);
                        System.arraycopy(buf, len - carry, buf, 0, carry);
                    }
                } catch (IOException e) {
                    unreadable++; // guard pages, device mappings
                }
            }
        }
        return new Result(regions, bytes, unreadable, Optional.empty());
    }

    /** The readable regions of a process, for messages. */
    public static List<String> readableRegions(long pid) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps"))) {
            String[] f = line.split("\\s+", 6);
            if (f.length >= 2 && f[1].charAt(0) == 'r') {
                out.add(line);
            }
        }
        return out;
    }
}
