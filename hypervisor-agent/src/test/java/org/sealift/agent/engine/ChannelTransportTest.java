package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class ChannelTransportTest {

    @Test
    void loopbackCarriesBytesBothWaysAndEndsWithEof() throws Exception {
        roundTrip(ChannelTransport.loopbackPair());
    }

    @Test
    void pipesCarryBytesBothWaysAndEndWithEof() throws Exception {
        roundTrip(ChannelTransport.pipePair());
    }

    private static void roundTrip(Transport[] pair) throws Exception {
        try (Transport a = pair[0]; Transport b = pair[1]) {
            byte[] data = new byte[3 << 20];
            new Random(1).nextBytes(data);
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try {
                    ByteBuffer in = ByteBuffer.allocateDirect(data.length);
                    b.readFully(in);
                    b.write(ByteBuffer.wrap(new byte[] {42}));
                    byte[] out = new byte[data.length];
                    in.flip().get(out);
                    return out;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            a.write(ByteBuffer.wrap(data));
            a.shutdownOutput();
            assertArrayEquals(data, received.get());
            ByteBuffer one = ByteBuffer.allocate(1);
            a.readFully(one);
            assertArrayEquals(new byte[] {42}, one.array());
            EOFException eof = assertThrows(EOFException.class, () -> b.readFully(ByteBuffer.allocate(1)));
            assertTrue(eof.getMessage().contains("ended"), eof.getMessage());
        }
    }

    @Test
    void closeFromAnotherThreadEndsABlockedRead() throws Exception {
        Transport[] pair = ChannelTransport.loopbackPair();
        try (Transport a = pair[0]; Transport b = pair[1]) {
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                try {
                    b.readFully(ByteBuffer.allocate(1));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            b.close();
            ExecutionException e = assertThrows(ExecutionException.class, reader::get);
            assertTrue(e.getCause().getCause() instanceof IOException, String.valueOf(e.getCause()));
        }
    }
}
