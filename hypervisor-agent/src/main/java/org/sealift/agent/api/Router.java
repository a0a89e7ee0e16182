package org.sealift.agent.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Maps method + path to a {@link Route} or to the event stream. Templates are literal segments and {@code {name}}
 * parameters ("/v1/migrations/{id}/cancel"). A path that matches a template with another method is a 405 with the
 * allowed methods, a path that matches nothing a 404: the distinction tells a client whether it has a typo in the
 * path or in the method.
 */
public final class Router {

    /** What a matched request runs. */
    public sealed interface Target permits JsonTarget, StreamTarget {
    }

    public record JsonTarget(Route route) implements Target {
    }

    public record StreamTarget(EventHub hub) implements Target {
    }

    record Entry(String method, String template, String[] segments, Target target) {
    }

    /** A match: the target and the path parameters. */
    public record Match(Target target, Map<String, String> params) {
    }

    private final List<Entry> entries = new ArrayList<>();

    public Router add(String method, String template, Route route) {
        return add(method, template, new JsonTarget(Objects.requireNonNull(route, "route")));
    }

    /** A server-sent-event stream of {@code hub}'s events (GET). */
    public Router addEventStream(String template, EventHub hub) {
        return add("GET", template, new StreamTarget(Objects.requireNonNull(hub, "hub")));
    }

    private synchronized Router add(String method, String template, Target target) {
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("route template must start with '/': " + template);
        }
        String[] segs = split(template);
        for (Entry e : entries) {
            if (e.method.equals(method) && e.template.equals(template)) {
                throw new IllegalArgumentException("route " + method + " " + template + " is defined twice");
            }
        }
        entries.add(new Entry(method, template, segs, target));
        return this;
    }

    /** Templates and methods, for docs and tests. */
    public synchronized List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) {
            out.add(e.method + " " + e.template);
        }
        return out;
    }

    /**
     * The route for a request.
     *
     * @throws ApiException 404 for an unknown path, 405 (with the allowed methods) for a known path and wrong method
     */
    public synchronized Match match(String method, String path) {
        String[] segs = split(path);
        Set<String> allowed = new TreeSet<>();
        for (Entry e : entries) {
            Map<String, String> params = matchSegments(e.segments, segs);
            if (params == null) {
                continue;
            }
            if (e.method.equals(method)) {
                return new Match(e.target, params);
            }
            allowed.add(e.method);
        }
        if (!allowed.isEmpty()) {
            throw new MethodNotAllowed(method, path, allowed);
        }
        throw ApiException.notFound("no API resource at " + path + "; the resources are listed in docs/api.md"
                + " (for example GET /v1/host)");
    }

    /** 405 with the methods the path does support, for the Allow header. */
    public static final class MethodNotAllowed extends ApiException {
        private static final long serialVersionUID = 1L;
        private final Set<String> allowed;

        MethodNotAllowed(String method, String path, Set<String> allowed) {
            super(405, "method_not_allowed", method + " is not supported on " + path + "; use "
                    + String.join(" or ", allowed));
            this.allowed = Set.copyOf(allowed);
        }

        public Set<String> allowed() {
            return allowed;
        }
    }

    private static Map<String, String> matchSegments(String[] template, String[] path) {
        if (template.length != path.length) {
            return null;
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (path[i].isEmpty()) {
                    return null;
                }
                params.put(t.substring(1, t.length() - 1), path[i]);
            } else if (!t.equals(path[i])) {
                return null;
            }
        }
        return params;
    }

    private static String[] split(String path) {
        String p = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return p.substring(1).split("/", -1);
    }
}
