package org.sealift.agent.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.sealift.agent.spi.SecretMarker;

/**
 * Scans the readable memory of a process (/proc/PID/maps and /proc/PID/mem) for a secret marker, the way an attacker
 * in dom0 would look for it. The scanner compares through the marker's random pad, so it never plants the marker in
 * its own memory, and it reads another process's memory straight into one off-heap buffer (no JDK or malloc copies)
 * that it wipes afterwards, so scanning a hypervisor does not leave its secrets behind in the scanning agent.
 */
final class MemoryScan {

    private static final int CHUNK = 1 << 20;

    private MemoryScan() {
    }

    /** Address of the first occurrence of the marker in process {@code pid}, or -1; also counts bytes scanned. */
    static long find(long pid, SecretMarker marker, long[] scanned) throws IOException {
        List<String> maps = Files.readAllLines(Path.of("/proc/" + pid + "/maps"));
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK + SecretMarker.LENGTH);
        try (FileChannel mem = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.READ)) {
            for (String line : maps) {
                String[] f = line.trim().split("\\s+");
                if (f[1].charAt(0) != 'r' || line.contains("[vvar]") || line.contains("[vsyscall]")) {
                    continue;
                }
                String[] range = f[0].split("-");
                long start = Long.parseUnsignedLong(range[0], 16);
                long end = Long.parseUnsignedLong(range[1], 16);
                long hit = scanRegion(mem, buf, start, end, marker, scanned);
                if (hit >= 0) {
                    return hit;
                }
            }
        } finally {
            buf.clear();
            while (buf.hasRemaining()) {
                buf.put((byte) 0);
            }
        }
        return -1;
    }

    private static long scanRegion(FileChannel mem, ByteBuffer buf, long start, long end, SecretMarker marker,
            long[] scanned) {
        long at = start;
        int carry = 0;
        buf.clear();
        while (at < end) {
            int want = (int) Math.min(CHUNK, end - at);
            buf.limit(carry + want).position(carry);
            int n;
            try {
                n = mem.read(buf, at);
            } catch (IOException e) {
                return -1; // reserved but not committed (no backing): nothing to read
            }
            if (n <= 0) {
                return -1;
            }
            scanned[0] += n;
            int len = carry + n;
            ByteBuffer view = buf.duplicate().position(0).limit(len);
            int hit = marker.indexIn(view);
            if (hit >= 0) {
                return at - carry + hit;
            }
            carry = Math.min(SecretMarker.LENGTH - 1, len);
            for (int i = 0; i < carry; i++) {
                buf.put(i, buf.get(len - carry + i));
            }
            at += n;
        }
        return -1;
    }
}
