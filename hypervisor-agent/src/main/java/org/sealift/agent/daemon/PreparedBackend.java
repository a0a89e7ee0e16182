package org.sealift.agent.daemon;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicReference;

import org.sealift.agent.spi.HypervisorBackend;

/**
 * The backend handed to the engine after the daemon has already made the call that takes the hypervisor's decision
 * (the VM's migration lock at a source, the incoming domain at a destination): that one call returns the prepared
 * result once, everything else goes to the real backend. This is how an API request learns at once that the
 * hypervisor refused (locked VM, protected VM in plain mode, VM already present) and nothing was started.
 */
final class PreparedBackend {

    private PreparedBackend() {
    }

    /**
     * @param method the SPI method whose first call returns {@code prepared} ("beginSecureSource",
     *               "beginPlainMigration", "openSecureDestination", "createDomain")
     */
    static HypervisorBackend of(HypervisorBackend real, String method, Object prepared) {
        AtomicReference<Object> once = new AtomicReference<>(prepared);
        return (HypervisorBackend) Proxy.newProxyInstance(HypervisorBackend.class.getClassLoader(),
                new Class<?>[] {HypervisorBackend.class}, (proxy, m, args) -> {
                    if (m.getName().equals(method)) {
                        Object p = once.getAndSet(null);
                        if (p != null) {
                            return p;
                        }
                    }
                    return invoke(real, m, args);
                });
    }

    private static Object invoke(Object target, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
