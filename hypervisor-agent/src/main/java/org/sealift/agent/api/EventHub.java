package org.sealift.agent.api;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Fans events out to server-sent-event subscribers (the console's live charts, {@code curl -N}). Each event is
 * serialized to JSON once. Subscribers that cannot keep up are cut off rather than buffered without bound: the
 * agent's memory must not depend on how fast a console reads. The last {@code replay} events are kept so that a
 * client reconnecting with {@code Last-Event-ID} gets what it missed.
 */
public final class EventHub implements AutoCloseable {

    /** One event: a per-hub increasing id, a type ("round", "phase", "outcome", ...), the data as JSON. */
    public record Event(long id, String type, String json) {

        /** The SSE wire form: "id: 7\nevent: round\ndata: {...}\n\n". */
        public String frame() {
            return "id: " + id + "\nevent: " + type + "\ndata: " + json + "\n\n";
        }
    }

    /** Where events go; offers never block. */
    public interface Subscriber {
        /** false if the subscriber is gone (it is then removed). */
        boolean offer(String frame);

        /** The hub is closing: finish the stream. */
        void end();
    }

    private record Subscription(Subscriber subscriber, Predicate<String> types) {
    }

    static final String HEARTBEAT = ": keepalive\n\n";

    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private final Deque<Event> recent = new ArrayDeque<>();
    private final int replay;
    private final ScheduledExecutorService heartbeat;
    private long nextId = 1;
    private volatile boolean closed;

    /**
     * @param heartbeatInterval a comment line this often keeps idle streams open through the server's idle timeout
     *                          and proxies, and reveals clients that went away
     * @param replay            how many recent events a reconnecting client can catch up on
     */
    public EventHub(Duration heartbeatInterval, int replay) {
        this.replay = replay;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sealift-sse-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long ms = heartbeatInterval.toMillis();
        heartbeat.scheduleAtFixedRate(() -> broadcast(HEARTBEAT, null), ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Publishes {@code data} (anything Jackson can write) as an event of {@code type}. */
    public void publish(String type, Object data) {
        if (type.isEmpty() || type.chars().anyMatch(c -> c == '\n' || c == '\r' || c == ':')) {
            throw new IllegalArgumentException("event type must be a non-empty word, got \"" + type + "\"");
        }
        String json = Json.writeString(data); // Jackson escapes newlines, so one data line suffices
        Event e;
        synchronized (this) {
            if (closed) {
                return;
            }
            e = new Event(nextId++, type, json);
            recent.addLast(e);
            while (recent.size() > replay) {
                recent.removeFirst();
            }
            // delivered under the lock so that subscribers see events in id order
            broadcast(e.frame(), e.type());
        }
    }

    private void broadcast(String frame, String type) {
        for (Subscription s : subscriptions) {
            if (type != null && !s.types.test(type)) {
                continue;
            }
            if (!s.subscriber.offer(frame)) {
                subscriptions.remove(s);
            }
        }
    }

    /**
     * Adds a subscriber; it first receives {@code greeting} (if not null), then the retained events after
     * {@code lastEventId} (-1: none; ids start at 1, so 0 replays everything retained) that pass {@code types}
     * (empty: all types), then every new event.
     */
    public synchronized void subscribe(Subscriber subscriber, Set<String> types, long lastEventId,
            String greeting) {
        if (closed) {
            subscriber.end();
            return;
        }
        Predicate<String> filter = types.isEmpty() ? t -> true : types::contains;
        Subscription subscription = new Subscription(subscriber, filter);
        // registered before the greeting goes out: a client that has seen the greeting misses no later event,
        // and holding the hub's lock keeps publish() from slipping in between the replay and the new events
        subscriptions.add(subscription);
        boolean alive = greeting == null || subscriber.offer(greeting);
        if (alive && lastEventId >= 0) {
            for (Event e : recent) {
                if (e.id() > lastEventId && filter.test(e.type()) && !subscriber.offer(e.frame())) {
                    alive = false;
                    break;
                }
            }
        }
        if (!alive) {
            subscriptions.remove(subscription);
        }
    }

    public void unsubscribe(Subscriber subscriber) {
        subscriptions.removeIf(s -> s.subscriber == subscriber);
    }

    public int subscriberCount() {
        return subscriptions.size();
    }

    /** Ends every stream (clients see the response complete) and stops the heartbeat. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        heartbeat.shutdownNow();
        for (Subscription s : subscriptions) {
            s.subscriber.end();
        }
        subscriptions.clear();
    }
}
