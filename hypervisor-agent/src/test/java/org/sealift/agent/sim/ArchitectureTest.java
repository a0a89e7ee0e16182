package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.sealift.agent.spi.HypervisorBackend;

/** The trust boundary is a package boundary: no agent class refers to the hypervisor's package. */
class ArchitectureTest {

    @Test
    void agentCodeNeverLinksAgainstTheHypervisor() throws Exception {
        Path classes = Path.of(HypervisorBackend.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path agent = classes.resolve("org/sealift/agent");
        List<String> offenders;
        try (Stream<Path> s = Files.walk(agent)) {
            offenders = s.filter(p -> p.toString().endsWith(".class")).filter(ArchitectureTest::refersToHypervisor)
                    .map(p -> classes.relativize(p).toString()).toList();
        }
        assertEquals(List.of(), offenders);
    }

    private static boolean refersToHypervisor(Path classFile) {
        try {
            // class references live in the constant pool as UTF-8 internal names
            return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1)
                    .contains("org/sealift/hypervisor/");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
