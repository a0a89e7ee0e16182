package org.sealift.protocol.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import com.sun.management.HotSpotDiagnosticMXBean;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the benchmarks (any JMH command-line option works, e.g. {@code -f 1 -wi 2 -i 3}) and then prints page
 * throughput in MB/s (10^6 octets of page plaintext per second) and the Sealer/raw and Opener/raw ratios.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        OptionsBuilder ob = new OptionsBuilder();
        ob.parent(cli);
        if (cli.getIncludes().isEmpty()) {
            ob.include(PageSealingBench.class.getName() + "\\.");
        }
        Options options = ob.build();
        Collection<RunResult> results = new Runner(options).run();
        System.out.println();
        System.out.println(report(results));
    }

    /** Page throughput for an ops/s score: one operation is one 4 KiB page. */
    static double megabytesPerSecond(double pagesPerSecond) {
        return pagesPerSecond * PageSealingBench.PAGE / 1e6;
    }

    static String report(Collection<RunResult> results) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Sealift page sealing, one thread, 4 KiB pages (%s %s, %s, %s)%n",
                System.getProperty("java.vm.vendor"), System.getProperty("java.runtime.version"),
                System.getProperty("os.arch"), cpuModel().orElse("cpu unknown")));
        // the JDK's AES-GCM speed depends on these (AES-NI, VAES, carry-less multiply, AVX-512)
        out.append(String.format(Locale.ROOT, "CPU features: %s; HotSpot UseAVX=%s%n",
                String.join(" ", cpuFlags("aes", "vaes", "pclmulqdq", "vpclmulqdq", "avx2", "avx512f")),
                vmOption("UseAVX")));
        List<String> names = List.of("sealerSeal", "rawAesGcmSeal", "openerOpen", "rawAesGcmOpen");
        List<Double> mbps = new ArrayList<>();
        for (String name : names) {
            Optional<Result<?>> r = results.stream()
                    .filter(rr -> rr.getParams().getBenchmark().endsWith("." + name))
                    .<Result<?>>map(RunResult::getPrimaryResult).findFirst();
            if (r.isEmpty()) {
                mbps.add(Double.NaN);
                continue;
            }
            double score = r.get().getScore();
            double error = r.get().getScoreError();
            mbps.add(megabytesPerSecond(score));
            out.append(String.format(Locale.ROOT, "  %-15s %10.1f MB/s  (± %.1f, %.0f pages/s)%n", name,
                    megabytesPerSecond(score), Double.isNaN(error) ? 0 : megabytesPerSecond(error), score));
        }
        out.append(String.format(Locale.ROOT, "  seal: Sealer / raw AES-GCM = %.2f%n", mbps.get(0) / mbps.get(1)));
        out.append(String.format(Locale.ROOT, "  open: Opener / raw AES-GCM = %.2f%n", mbps.get(2) / mbps.get(3)));
        return out.toString();
    }

    private static String vmOption(String name) {
        try {
            return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (RuntimeException e) {
            return "?";
        }
    }

    /** Which of {@code wanted} the first CPU's flags line lists, in that order. */
    private static List<String> cpuFlags(String... wanted) {
        try {
            List<String> flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> List.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+"))).orElse(List.of());
            List<String> present = new ArrayList<>();
            for (String w : wanted) {
                present.add(flags.contains(w) ? w : "no-" + w);
            }
            return present;
        } catch (IOException | RuntimeException e) {
            return List.of("unknown");
        }
    }

    private static Optional<String> cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
