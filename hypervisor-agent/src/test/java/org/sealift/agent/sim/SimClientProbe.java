package org.sealift.agent.sim;

import java.nio.file.Path;
import java.util.List;

import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.WorkloadSpec;

/**
 * A separate agent process for tests: attaches to a hypervisor by socket and does one thing.
 * {@code create SOCKET NAME}: creates and runs a 16 MiB VM, prints "created DOMID", then blocks (to be killed).
 * {@code plain SOCKET NAME}: tries to begin a plain migration of the VM and prints "began ID" or the refusal reason.
 */
public final class SimClientProbe {

    private SimClientProbe() {
    }

    public static void main(String[] args) throws Exception {
        SimBackend b = SimBackend.attach(Path.of(args[1]));
        switch (args[0]) {
            case "create" -> {
                int id = b.createDomain(new DomainConfig(args[2], 16, 1, List.of(),
                        WorkloadSpec.idle(10).withNormal(1, 1000))).domId();
                b.resume(id);
                b.enableDirtyLogging(id);
                System.out.println("created " + id);
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            case "plain" -> {
                try {
                    var m = b.beginPlainMigration(b.domainByName(args[2]).domId());
                    System.out.println("began " + m.id());
                } catch (HypervisorException e) {
                    System.out.println(e.reason() + " " + e.getMessage());
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        b.close();
    }
}
