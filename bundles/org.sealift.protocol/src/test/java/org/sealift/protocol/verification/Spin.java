package org.sealift.protocol.verification;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs the spin model checker on docs/commit-model.pml: generate the verifier (spin -a), compile it with
 * gcc, run it, and read what it reports. Each run works in its own temporary folder, so several builds in
 * one tree do not trample each other's pan.c.
 */
final class Spin {

    static final String MODEL = "docs/commit-model.pml";

    private static final Pattern ERRORS = Pattern.compile("errors: (\\d+)");
    private static final Pattern STORED = Pattern.compile("([0-9.e+]+) states, stored");
    private static final Pattern DEPTH = Pattern.compile("depth reached (\\d+)");
    private static final Pattern FIRST_ERROR = Pattern.compile("(?m)^pan:1: (.*)$");

    /** What one verifier run reported. */
    record Result(String label, String output, long errors, long statesStored, long depth, boolean complete,
                  String firstError) {

        String summary() {
            return label + ": " + statesStored + " states stored, depth " + depth + ", errors: " + errors
                    + (complete ? ", search complete" : errors > 0 ? ", stopped at the first error"
                            : ", SEARCH NOT COMPLETE")
                    + (firstError == null ? "" : ", first error: " + firstError);
        }
    }

    /** How to build and run the verifier for one check. */
    record Check(String label, List<String> modelDefines, List<String> panDefines, List<String> panArgs,
                 boolean optimize) {
    }

    private Spin() {
    }

    /** The model file, found from the working directory upwards (surefire runs in the module folder). */
    static Path model() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path candidate = d.resolve(MODEL);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("cannot find " + MODEL + " in " + dir + " or any folder above it;"
                + " run the tests from the Sealift source tree");
    }

    /** Fails, naming the Debian package to install, when a tool the check needs is not on the PATH. */
    static void requireTool(String tool, String debianPackage) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        fail(tool + " is not installed (not found on PATH=" + path + "): the commit model is checked with it."
                + " Install it with 'apt-get install " + debianPackage + "' ('./sealift test' installs it).");
    }

    static Result run(Check check) {
        requireTool("spin", "spin");
        requireTool("gcc", "gcc");
        Path work;
        try {
            work = Files.createTempDirectory("sealift-spin-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            copy(model(), work.resolve("commit-model.pml"));

            List<String> spinCmd = new ArrayList<>(List.of("spin"));
            check.modelDefines().forEach(d -> spinCmd.add("-D" + d));
            spinCmd.addAll(List.of("-a", "commit-model.pml"));
            exec(work, spinCmd, "spin could not generate the verifier from " + MODEL);

            List<String> gccCmd = new ArrayList<>(List.of("gcc", check.optimize() ? "-O2" : "-O0", "-w"));
            check.panDefines().forEach(d -> gccCmd.add("-D" + d));
            gccCmd.addAll(List.of("-o", "pan", "pan.c"));
            exec(work, gccCmd, "gcc could not compile the verifier spin generated");

            List<String> panCmd = new ArrayList<>(List.of("./pan"));
            panCmd.addAll(check.panArgs());
            String out = exec(work, panCmd, "the verifier (pan) failed to run");
            return parse(check.label(), out);
        } finally {
            deleteTree(work);
        }
    }

    static Result parse(String label, String out) {
        Matcher errors = ERRORS.matcher(out);
        Matcher stored = STORED.matcher(out);
        Matcher depth = DEPTH.matcher(out);
        if (!errors.find() || !stored.find() || !depth.find()) {
            throw new AssertionError(label + ": pan did not print its statistics; its output was:\n" + out);
        }
        Matcher first = FIRST_ERROR.matcher(out);
        boolean complete = !out.contains("Search not completed") && !out.contains("max search depth too small");
        return new Result(label, out, Long.parseLong(errors.group(1)), (long) Double.parseDouble(stored.group(1)),
                Long.parseLong(depth.group(1)), complete, first.find() ? first.group(1).trim() : null);
    }

    private static void copy(Path from, Path to) {
        try {
            Files.copy(from, to);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + from + " to " + to, e);
        }
    }

    private static String exec(Path dir, List<String> cmd, String whatFailed) {
        try {
            Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            byte[] bytes = p.getInputStream().readAllBytes();
            int rc = p.waitFor();
            String out = new String(bytes, StandardCharsets.UTF_8);
            if (rc != 0) {
                throw new AssertionError(whatFailed + " (" + String.join(" ", cmd) + " exited with " + rc + "):\n"
                        + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(whatFailed + ": cannot run " + cmd.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + cmd.get(0), e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder left behind is harmless; the check's result stands
        }
    }

    /** Asserts a correct-model run: the whole state space searched and no error of any kind. */
    static void assertVerified(Result r) {
        if (!r.complete()) {
            fail(r.label() + ": the search did not cover the whole state space (raise pan's -m depth bound or"
                    + " shrink the model); pan said:\n" + r.output());
        }
        assertEquals(0, r.errors(), () -> r.label() + ": spin found a violation: " + r.firstError()
                + "\nReplay it with 'spin -t -p' on the trail; pan said:\n" + r.output());
    }
}
