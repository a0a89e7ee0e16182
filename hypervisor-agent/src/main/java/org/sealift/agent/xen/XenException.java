package org.sealift.agent.xen;

import org.sealift.agent.spi.HypervisorException;

/**
 * A libsealift-xen call failed: {@link #errno()} is the (positive) errno it returned as -errno, and the message is
 * the shim's own {@code slx_last_error()} text (operation, domain, errno, fix, and what Xen's libraries logged),
 * plus a note of Sealift's where the SPI's meaning needs one.
 */
public final class XenException extends HypervisorException {

    private static final long serialVersionUID = 1L;

    // Linux errno values (the shim runs only on Linux dom0s, x86_64 and arm64 share these)
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int ESRCH = 3;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int E2BIG = 7;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int ERANGE = 34;
    static final int ENOSYS = 38;
    static final int EBADMSG = 74;
    static final int EOVERFLOW = 75;
    static final int EOPNOTSUPP = 95;
    static final int ENOBUFS = 105;

    private final int errno;
    private final String function;

    XenException(Reason reason, String function, int errno, String message) {
        super(reason, message);
        this.errno = errno;
        this.function = function;
    }

    /** The failing call's errno (positive). */
    public int errno() {
        return errno;
    }

    /** The shim function that failed, e.g. {@code slx_domain_pause}. */
    public String function() {
        return function;
    }

    /** True when the hypervisor does not implement what was asked (Sealift's domctl on an unpatched Xen). */
    public boolean unsupported() {
        return errno == ENOSYS || errno == EOPNOTSUPP;
    }

    /** The SPI's kind of refusal for an errno; callers that know better (protmeta EPERM) pass their own. */
    static Reason reasonOf(int errno) {
        switch (errno) {
            case ESRCH:
                return Reason.NOT_FOUND;
            case EEXIST:
                return Reason.ALREADY_EXISTS;
            case EINVAL:
            case E2BIG:
            case ERANGE:
            case ENOBUFS:
                return Reason.INVALID_ARGUMENT;
            case EPERM:
            case EACCES:
            case EBUSY:
            case EOVERFLOW:
            case ENOSYS:
            case EOPNOTSUPP:
            case EBADMSG:
                return Reason.REFUSED;
            case ENOENT:
            case ENXIO:
            case ENODEV:
                return Reason.UNAVAILABLE;
            default:
                return Reason.INTERNAL;
        }
    }
}
