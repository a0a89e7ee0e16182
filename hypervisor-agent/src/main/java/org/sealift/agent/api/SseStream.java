package org.sealift.agent.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * One server-sent-event response. Jetty allows one pending write per response, so frames queue here and every write
 * takes all that has queued up; a client that falls {@code maxQueued} frames behind is disconnected.
 */
final class SseStream implements EventHub.Subscriber {

    private final Response response;
    private final Callback done;
    private final int maxQueued;
    private final ArrayDeque<String> queue = new ArrayDeque<>();
    private boolean writing;
    private boolean ending;
    private boolean ended;

    SseStream(Response response, Callback done, int maxQueued) {
        this.response = response;
        this.done = done;
        this.maxQueued = maxQueued;
    }

    @Override
    public synchronized boolean offer(String frame) {
        if (ended || ending) {
            return false;
        }
        if (queue.size() >= maxQueued) {
            // too slow: end the stream; the client reconnects with Last-Event-ID and catches up from the replay
            ending = true;
            queue.clear();
            if (!writing) {
                finish();
            }
            return false;
        }
        queue.addLast(frame);
        if (!writing) {
            flush();
        }
        return true;
    }

    @Override
    public synchronized void end() {
        if (ended || ending) {
            return;
        }
        ending = true;
        if (!writing) {
            finish();
        }
    }

    private void flush() {
        StringBuilder sb = new StringBuilder();
        while (!queue.isEmpty()) {
            sb.append(queue.pollFirst());
        }
        writing = true;
        ByteBuffer buf = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
        response.write(false, buf, Callback.from(this::written, this::failed));
    }

    private synchronized void written() {
        writing = false;
        if (ended) {
            return;
        }
        if (ending) {
            finish();
        } else if (!queue.isEmpty()) {
            flush();
        }
    }

    private synchronized void failed(Throwable cause) {
        writing = false;
        queue.clear();
        if (!ended) {
            ended = true;
            done.failed(cause); // the client went away
        }
    }

    private void finish() {
        ended = true;
        response.write(true, BufferUtil.EMPTY_BUFFER, done);
    }

    synchronized boolean isEnded() {
        return ended;
    }
}
