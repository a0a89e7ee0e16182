package org.sealift.agent.sim;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Deterministic unmapping on every JDK the agent runs on (17+), compiled for 17: on Java 22+ mappings are made in a
 * shared {@code java.lang.foreign.Arena} (closing it unmaps; later access throws instead of crashing), found by
 * reflection; before that, the JDK's cleaner through {@code sun.misc.Unsafe.invokeCleaner} (no warning there).
 */
final class Unmapper {

    private static final boolean ARENAS = Runtime.version().feature() >= 22;

    private Unmapper() {
    }

    /** A new shared arena on Java 22+, else null. */
    static Object newArena() throws IOException {
        if (!ARENAS) {
            return null;
        }
        try {
            return Class.forName("java.lang.foreign.Arena").getMethod("ofShared").invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IOException("cannot create a memory arena: " + e, e);
        }
    }

    static ByteBuffer map(FileChannel ch, FileChannel.MapMode mode, long offset, long size, Object arena)
            throws IOException {
        if (arena == null) {
            return ch.map(mode, offset, size);
        }
        try {
            Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
            Method map = FileChannel.class.getMethod("map", FileChannel.MapMode.class, long.class, long.class,
                    arenaClass);
            Object segment = map.invoke(ch, mode, offset, size, arena);
            Method asByteBuffer = Class.forName("java.lang.foreign.MemorySegment").getMethod("asByteBuffer");
            return (ByteBuffer) asByteBuffer.invoke(segment);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot map guest memory: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IOException("cannot map guest memory: " + e, e);
        }
    }

    static void unmap(ByteBuffer[] chunks, Object arena) {
        try {
            if (arena != null) {
                Class.forName("java.lang.foreign.Arena").getMethod("close").invoke(arena);
                return;
            }
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            Method clean = unsafeClass.getMethod("invokeCleaner", ByteBuffer.class);
            for (ByteBuffer b : chunks) {
                if (b instanceof MappedByteBuffer) {
                    clean.invoke(unsafe, b);
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // no explicit unmap here: the mapping goes away when the buffers are collected
        }
    }
}
