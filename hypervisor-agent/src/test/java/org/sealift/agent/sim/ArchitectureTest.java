package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.sealift.agent.spi.HypervisorBackend;

/**
 * The trust boundary is a package boundary: no agent class links against the hypervisor's package (a class
 * reference or a type in a descriptor). Naming it in a string, as the launcher does, is not linking.
 */
class ArchitectureTest {

    private static final String HV = "org/sealift/hypervisor/";

    @Test
    void agentCodeNeverLinksAgainstTheHypervisor() throws Exception {
        Path classes = Path.of(HypervisorBackend.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> offenders = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(classes.resolve("org/sealift/agent"))) {
            files = s.filter(p -> p.toString().endsWith(".class")).toList();
        }
        for (Path f : files) {
            if (linksHypervisor(Files.readAllBytes(f))) {
                offenders.add(classes.relativize(f).toString());
            }
        }
        assertEquals(List.of(), offenders);
        // the check itself sees a real link: the hypervisor's own classes are full of them
        assertTrue(linksHypervisor(Files.readAllBytes(classes.resolve("org/sealift/hypervisor/sim/SimHypervisor.class"))));
    }

    /** Parses the constant pool: CONSTANT_Class names and descriptors that mention the hypervisor package. */
    static boolean linksHypervisor(byte[] classFile) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
        in.readInt();
        in.readUnsignedShort();
        in.readUnsignedShort();
        int n = in.readUnsignedShort();
        String[] utf8 = new String[n];
        List<Integer> classNames = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 7 -> classNames.add(in.readUnsignedShort());
                case 8, 16, 19, 20 -> in.readUnsignedShort();
                case 15 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                }
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++;
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        for (int idx : classNames) {
            if (utf8[idx] != null && (utf8[idx].startsWith(HV) || utf8[idx].contains("L" + HV))) {
                return true;
            }
        }
        for (String s : utf8) {
            if (s != null && s.contains("L" + HV)) {
                return true;
            }
        }
        return false;
    }
}
