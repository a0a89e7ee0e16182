package org.sealift.console.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An open server-sent-event stream of one agent ({@code GET /v1/events}). {@link #next()} blocks for the next event;
 * closing the stream (from any thread) ends a blocked {@code next()}.
 */
public final class EventStream implements AutoCloseable {

    /** One event: its id (for Last-Event-ID), type and parsed data. */
    public record Event(long id, String type, JsonNode data) {
    }

    private final InputStream in;
    private final BufferedReader reader;
    private final String agent;
    private long lastId = -1;

    EventStream(InputStream in, String agent) {
        this.in = in;
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.agent = agent;
    }

    /** The id of the last event returned, or -1 (what a reconnect sends as Last-Event-ID). */
    public long lastEventId() {
        return lastId;
    }

    /**
     * The next event, or empty when the agent ended the stream (it stops, or cut off a client that fell behind).
     *
     * @throws IOException if the connection broke or an event's data is not JSON
     */
    public Optional<Event> next() throws IOException {
        String type = null;
        long id = -1;
        StringBuilder data = new StringBuilder();
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (data.length() > 0) {
                    JsonNode node;
                    try {
                        node = AgentApi.MAPPER.readTree(data.toString());
                    } catch (IOException e) {
                        throw new IOException(agent + " sent an event whose data is not JSON: " + e.getMessage(), e);
                    }
                    if (id >= 0) {
                        lastId = id;
                    }
                    return Optional.of(new Event(id, type == null ? "message" : type, node));
                }
                type = null;
                id = -1;
            } else if (line.startsWith(":")) {
                continue; // comment: greeting or keepalive
            } else {
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                switch (field) {
                    case "event" -> type = value;
                    case "data" -> data.append(data.length() > 0 ? "\n" : "").append(value);
                    case "id" -> {
                        try {
                            id = Long.parseLong(value.trim());
                        } catch (NumberFormatException e) {
                            id = -1;
                        }
                    }
                    default -> {
                        // "retry" and unknown fields: nothing to do
                    }
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // closing either way
        }
    }
}
