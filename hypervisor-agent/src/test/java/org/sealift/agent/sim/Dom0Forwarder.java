package org.sealift.agent.sim;

import java.nio.ByteBuffer;

import org.sealift.agent.spi.DestinationRequest;
import org.sealift.agent.spi.DestinationSession;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorBackend;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedAcceptance;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.SourceSession;

/**
 * The smallest dom0 that migrates through the SPI, one step per method, so a test can stop (or misbehave) at any
 * step: it forwards the hypervisors' opaque records, copies normal pages between the two guest mappings and hands
 * sealed pages over. No stream, no engine: the pre-copy engine is tested on its own.
 */
final class Dom0Forwarder {

    final HypervisorBackend src;
    final HypervisorBackend dst;
    final int srcDom;
    final DomainConfig config;
    SourceSession source;
    DestinationSession destination;
    ProtocolMessage manifest;
    ProtocolMessage ready;
    ProtocolMessage release;
    ProtocolMessage done;

    Dom0Forwarder(HypervisorBackend src, HypervisorBackend dst, int srcDom) throws HypervisorException {
        this.src = src;
        this.dst = dst;
        this.srcDom = srcDom;
        this.config = src.domainInfo(srcDom).config();
    }

    int dstDom() {
        return destination.domId();
    }

    /** Opens the destination, begins at the source and runs the three-message handshake. */
    Dom0Forwarder handshake(long readyDeadlineMs) throws HypervisorException {
        destination = dst.openSecureDestination(new DestinationRequest(config, java.util.Optional.empty(),
                readyDeadlineMs));
        source = src.beginSecureSource(SourceRequest.to(srcDom, ((SimBackend) dst).hostId()));
        ProtocolMessage reply = destination.onHello(source.hello().bytes());
        destination.onFinish(source.onHelloReply(reply.bytes()).bytes());
        return this;
    }

    Dom0Forwarder handshake() throws HypervisorException {
        return handshake(DestinationRequest.DEFAULT_READY_DEADLINE_MS);
    }

    /** One pre-copy round: every page ({@code dirtyOnly} false) or the pages in the dirty log since the last round. */
    SealedAcceptance round(boolean dirtyOnly) throws HypervisorException {
        PageBitmap prot = src.protectedPages(srcDom);
        PageBitmap todo = dirtyOnly ? src.readDirtyLog(srcDom, true) : null;
        long pages = config.pageCount();
        int nProt = 0;
        long[] protPfns = new long[(int) prot.cardinality()];
        try (GuestMemory from = src.mapGuestMemory(srcDom, false);
                GuestMemory to = dst.mapGuestMemory(dstDom(), true)) {
            ByteBuffer page = ByteBuffer.allocate(GuestMemory.PAGE_SIZE);
            for (long pfn = 0; pfn < pages; pfn++) {
                if (todo != null && !todo.get(pfn)) {
                    continue;
                }
                if (prot.get(pfn)) {
                    protPfns[nProt++] = pfn;
                    continue;
                }
                page.clear();
                from.read(pfn, 1, page);
                page.flip();
                to.write(pfn, 1, page);
            }
        }
        if (nProt == 0) {
            return new SealedAcceptance(0, 0);
        }
        SealedBatch sealed = source.sealPages(protPfns, 0, nProt);
        return destination.acceptSealed(sealed.records());
    }

    /** Pause, last dirty pages, sealed vCPU contexts, MANIFEST → READY. */
    Dom0Forwarder stopAndCopy() throws HypervisorException {
        src.pause(srcDom);
        round(true);
        for (int v = 0; v < config.vcpus(); v++) {
            dst.setVcpuContext(dstDom(), v, src.vcpuContext(srcDom, v));
        }
        destination.acceptSealed(source.sealVcpus().records());
        manifest = source.manifest();
        return this;
    }

    Dom0Forwarder verify() throws HypervisorException {
        ready = destination.onManifest(manifest.bytes());
        return this;
    }

    Dom0Forwarder release() throws HypervisorException {
        release = source.release(ready.bytes());
        return this;
    }

    Dom0Forwarder resumeAtDestination() throws HypervisorException {
        done = destination.onRelease(release.bytes());
        source.onDone(done.bytes());
        return this;
    }

    /** Handshake, a full round and a dirty round, stop-and-copy, verification: the destination said READY. */
    Dom0Forwarder upToReady() throws HypervisorException {
        src.enableDirtyLogging(srcDom);
        src.readDirtyLog(srcDom, true);
        handshake();
        round(false);
        round(true);
        return stopAndCopy().verify();
    }
}
