package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.sealift.agent.spi.SecretMarker;

/** The scanner the G1 tests rely on must find a marker that is there, and not one that is not. */
class MemoryScannerTest {

    /** Seeds used only here, so the planted marker cannot make another test's scan fail. */
    private static final long PLANTED = 0x5ca1ab1e_0001L;
    private static final long ABSENT = 0x5ca1ab1e_0002L;

    @Test
    void findsAMarkerPlantedInOffHeapMemoryAndNotAnAbsentOne() throws Exception {
        ByteBuffer planted = ByteBuffer.allocateDirect(1 << 20);
        planted.position(12345);
        SecretMarker.writeTo(PLANTED, planted);
        MemoryScanner.Result found = MemoryScanner.scanSelf(SecretMarker.forSeed(PLANTED));
        assertTrue(found.foundIn().isPresent(), "planted marker not found after " + found.bytesScanned() + " bytes");

        MemoryScanner.Result absent = MemoryScanner.scanSelf(SecretMarker.forSeed(ABSENT));
        assertFalse(absent.foundIn().isPresent(), "a marker nobody wrote was found in " + absent.foundIn());
        assertTrue(absent.bytesScanned() > 50L << 20, "the scan covered the JVM: " + absent);
        planted.clear();
    }

    @Test
    void findsAMarkerOnTheJavaHeap() throws Exception {
        ByteBuffer heap = ByteBuffer.allocate(4096);
        SecretMarker.writeTo(PLANTED + 7, heap);
        assertTrue(MemoryScanner.scanSelf(SecretMarker.forSeed(PLANTED + 7)).foundIn().isPresent());
        heap.clear();
    }
}
