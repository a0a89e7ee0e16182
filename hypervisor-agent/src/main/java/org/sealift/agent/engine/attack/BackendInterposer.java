package org.sealift.agent.engine.attack;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.SourceSession;

/**
 * A malicious (or crashing) dom0 on the agent's side of the HypervisorBackend interface: it wraps the backend the
 * engine uses and runs a {@link Hook} after each call, which may call the real backend itself (resume a VM the
 * engine paused, start a second migration, ask for metadata) or make the agent crash at that step. The hypervisor
 * behind the interface is untouched: whatever the hook does, it is refused or allowed by the hypervisor alone.
 */
public final class BackendInterposer {

    /** Called after every successful call through the wrapped backend or one of its migration sessions. */
    @FunctionalInterface
    public interface Hook {
        /**
         * @param call   "backend.pause", "source.manifest", "destination.onRelease", ...
         * @param result what the call returned (null for void)
         */
        void after(String call, Object result) throws Exception;
    }

    /** The agent process died: nothing after this point runs, not even its clean-up calls to the hypervisor. */
    public static final class AgentCrashed extends Error {
        private static final long serialVersionUID = 1L;

        public AgentCrashed(String where) {
            super("agent crashed " + where);
        }
    }

    private final HypervisorBackend real;
    private final Hook hook;
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private volatile String crashedAt;

    public BackendInterposer(HypervisorBackend real, Hook hook) {
        this.real = real;
        this.hook = hook;
    }

    /** The backend to hand to the engine. */
    public HypervisorBackend backend() {
        return wrap(HypervisorBackend.class, real, "backend");
    }

    /** The unwrapped backend, for the hook's own malicious calls. */
    public HypervisorBackend real() {
        return real;
    }

    /** From now on every call through the wrapped backend throws {@link AgentCrashed}; this one too. */
    public AgentCrashed crash(String where) {
        crashedAt = where;
        return new AgentCrashed(where);
    }

    public String crashedAt() {
        return crashedAt;
    }

    /** Every call made through the wrapped backend and sessions, in order. */
    public List<String> calls() {
        return List.copyOf(calls);
    }

    private <T> T wrap(Class<T> type, Object target, String prefix) {
        InvocationHandler h = (proxy, method, args) -> invoke(target, prefix, method, args);
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, h));
    }

    private Object invoke(Object target, String prefix, Method method, Object[] args) throws Throwable {
        if (method.getDeclaringClass() == Object.class) {
            return method.invoke(target, args);
        }
        String call = prefix + "." + method.getName();
        if (crashedAt != null) {
            throw new AgentCrashed("at " + crashedAt + " (then " + call + " never ran)");
        }
        Object result;
        try {
            result = method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        calls.add(call);
        if (result instanceof SourceSession s) {
            result = wrap(SourceSession.class, s, "source");
        } else if (result instanceof DestinationSession d) {
            result = wrap(DestinationSession.class, d, "destination");
        }
        hook.after(call, result);
        return result;
    }
}
