package org.sealift.agent.xen;

import com.sun.jna.Native;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sealift.agent.spi.HypervisorException;

/**
 * Loads libsealift-xen through JNA and turns every way that can fail on a machine without a usable Xen into one
 * prompt {@link HypervisorException} whose message starts with {@link #UNAVAILABLE} and names the fix. Loading a
 * missing or mismatched library is an {@link UnsatisfiedLinkError} from the dynamic loader, never a crash; the shim's
 * {@code slx_open} fails at once when {@code /dev/xen/privcmd} cannot be opened (Xen's libraries do not wait for it).
 */
final class XenShimLoader {

    /** How every "this machine cannot drive Xen" message begins (the CLI and tests match it). */
    static final String UNAVAILABLE = "Xen privcmd interface not available: ";

    static final Path PRIVCMD = Path.of("/dev/xen/privcmd");

    static final String SHIM_FILE = "libsealift-xen.so";

    private static final String INSTALL_XEN_LIBRARIES = "install Xen's libraries (apt-get install libxen-dev; on a Xen"
            + " dom0, xen-utils brings them too)";
    private static final String BUILD_SHIM = "build the shim (make -C native all) and point the agent at it"
            + " (xen.library = <path>/" + SHIM_FILE + ", or -Djna.library.path=<its directory>)";
    private static final String BECOME_DOM0 = "boot this host into the Xen hypervisor (apt-get install"
            + " xen-system-amd64 xen-utils, reboot into the Xen entry) and run the agent as root in dom0 with the privcmd"
            + " driver loaded (modprobe xen-privcmd; systemctl start xencommons), or run the agent with --backend sim";

    private static final Pattern MISSING = Pattern.compile("([A-Za-z0-9_.+-]+\\.so(?:\\.[0-9]+)*): cannot open shared"
            + " object file");
    private static final Pattern VERSION = Pattern.compile("version `([^']+)' not found \\(required by ([^)]+)\\)");
    private static final Pattern UNDEFINED = Pattern.compile("undefined symbol: ([A-Za-z0-9_]+)");

    private XenShimLoader() {
    }

    /** The shim from {@code library} (a file), or found by name on jna.library.path and the system's paths. */
    static XenShim load(Optional<Path> library) throws HypervisorException {
        if (Native.SIZE_T_SIZE != 8) {
            throw unavailable("the Xen backend needs a 64-bit JVM on a 64-bit dom0 (size_t is " + Native.SIZE_T_SIZE
                    + " bytes here); run a 64-bit JDK", null);
        }
        String name = library.map(p -> p.toAbsolutePath().toString()).orElse("sealift-xen");
        XenShim shim;
        try {
            shim = Native.load(name, XenShim.class);
        } catch (UnsatisfiedLinkError e) {
            throw unavailable(explainLinkError(e.getMessage(), library), e);
        } catch (LinkageError e) {
            // JNA's own native part (jnidispatch) failed to initialise, e.g. a noexec temporary directory
            throw unavailable("JNA's native support could not be loaded (" + e + "); set -Djna.tmpdir to a"
                    + " directory that allows executing files", e);
        }
        int version;
        try {
            version = shim.slx_api_version();
        } catch (UnsatisfiedLinkError e) {
            throw unavailable(name + " has no slx_api_version: it is not Sealift's Xen shim; " + BUILD_SHIM, e);
        }
        if (version != XenShim.API_VERSION) {
            throw unavailable(name + " implements shim API version " + version + ", this agent speaks version "
                    + XenShim.API_VERSION + "; rebuild the shim from the same Sealift tree (make -C native all)", null);
        }
        return shim;
    }

    /** A failed {@code slx_open}: explains with the state of the privcmd device which it most likely means. */
    static HypervisorException openFailed(int errno, String shimMessage) {
        String device;
        if (!Files.exists(PRIVCMD)) {
            device = PRIVCMD + " does not exist, so this machine is not running as a Xen dom0";
        } else if (!Files.isReadable(PRIVCMD) || !Files.isWritable(PRIVCMD)) {
            device = PRIVCMD + " exists but this process (user " + System.getProperty("user.name")
                    + ") may not open it";
        } else {
            device = PRIVCMD + " exists but Xen's libraries could not use it";
        }
        String fix = errno == XenException.EACCES || errno == XenException.EPERM
                ? "run the agent as root in dom0 (an XSM policy may also deny dom0 tools)"
                : BECOME_DOM0;
        XenException cause = new XenException(XenException.reasonOf(errno), "slx_open", errno, shimMessage);
        return new HypervisorException(HypervisorException.Reason.UNAVAILABLE,
                UNAVAILABLE + device + " [shim: " + shimMessage + "]; fix: " + fix, cause);
    }

    /** Names the library the dynamic loader could not find or bind, and the fix for that case. */
    static String explainLinkError(String jnaMessage, Optional<Path> library) {
        String text = jnaMessage == null ? "" : jnaMessage;
        Matcher v = VERSION.matcher(text);
        if (v.find()) {
            return "the installed Xen libraries lack symbol version " + v.group(1) + " (needed by " + v.group(2)
                    + "): the shim is built for Xen 4.17; " + INSTALL_XEN_LIBRARIES + " of that release, or rebuild"
                    + " the shim against the installed ones (make -C native all) [JNA: " + oneLine(text) + "]";
        }
        Matcher u = UNDEFINED.matcher(text);
        if (u.find()) {
            return "symbol " + u.group(1) + " is missing from the loaded Xen libraries; " + INSTALL_XEN_LIBRARIES
                    + " matching the headers the shim was built with [JNA: " + oneLine(text) + "]";
        }
        Set<String> missing = new LinkedHashSet<>();
        Matcher m = MISSING.matcher(text);
        while (m.find()) {
            missing.add(m.group(1));
        }
        missing.remove(SHIM_FILE);
        if (!missing.isEmpty()) {
            String libs = String.join(", ", missing);
            return "cannot load " + SHIM_FILE + " because " + libs + (missing.size() == 1 ? " is" : " are")
                    + " missing; " + INSTALL_XEN_LIBRARIES + " [JNA: " + oneLine(text) + "]";
        }
        String where = library.map(p -> p.toAbsolutePath().toString())
                .orElse("jna.library.path=" + System.getProperty("jna.library.path", "(unset)")
                        + " and the system library paths");
        return "cannot find " + SHIM_FILE + " (looked in " + where + "); " + BUILD_SHIM
                + " (it needs " + "apt-get install libxen-dev) [JNA: " + oneLine(text) + "]";
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " | ").trim();
    }

    private static HypervisorException unavailable(String detail, Throwable cause) {
        return new HypervisorException(HypervisorException.Reason.UNAVAILABLE, UNAVAILABLE + detail, cause);
    }
}
