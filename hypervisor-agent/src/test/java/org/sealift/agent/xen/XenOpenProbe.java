package org.sealift.agent.xen;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sealift.agent.spi.HypervisorException;

/**
 * Opens a XenBackend in a JVM of its own (XenBackendOpenTest starts it), because a process can load only one
 * libxenctrl.so.4.17: the test JVM already has fakexen's. Prints OPENED, or FAILED with the reason and message,
 * then the Xen libraries the process really loaded.
 */
public final class XenOpenProbe {

    /** Exit status for "open failed with a HypervisorException" (a crash would be 134, an uncaught error 1). */
    static final int FAILED = 3;

    private XenOpenProbe() {
    }

    public static void main(String[] args) throws IOException {
        int status;
        try (XenBackend xen = XenBackend.open()) {
            System.out.println("OPENED");
            status = 0;
        } catch (HypervisorException e) {
            System.out.println("FAILED " + e.reason() + ": " + e.getMessage());
            status = FAILED;
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash >= 0 && (line.contains("libxen") || line.contains("sealift"))) {
                System.out.println("LOADED " + line.substring(slash));
            }
        }
        System.out.flush();
        System.exit(status);
    }
}
