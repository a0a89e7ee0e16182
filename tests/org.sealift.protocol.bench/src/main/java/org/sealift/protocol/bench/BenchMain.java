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

    /** Pages per CPU-second in MB/s; both counters are aggregated the same way by JMH, so their ratio holds. */
    static double megabytesPerCpuSecond(double pages, double cpuNanos) {
        return cpuNanos > 0 ? pages * PageSealingBench.PAGE * 1e3 / cpuNanos : Double.NaN;
    }

    private static double score(RunResult r, String counter) {
        Result<?> res = r.getSecondaryResults().get(counter);
        return res == null ? Double.NaN : res.getScore();
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
        out.append(String.format(Locale.ROOT, "  %-15s %12s %12s %14s%n", "benchmark", "wall MB/s", "± error",
                "MB/CPU-second"));
        List<String> names = List.of("sealerSeal", "rawAesGcmSeal", "openerOpen", "rawAesGcmOpen");
        List<Double> wall = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        for (String name : names) {
            Optional<RunResult> r = results.stream()
                    .filter(rr -> rr.getParams().getBenchmark().endsWith("." + name)).findFirst();
            if (r.isEmpty()) {
                wall.add(Double.NaN);
                cpu.add(Double.NaN);
                continue;
            }
            Result<?> primary = r.get().getPrimaryResult();
            double error = primary.getScoreError();
            wall.add(megabytesPerSecond(primary.getScore()));
            cpu.add(megabytesPerCpuSecond(score(r.get(), "pages"), score(r.get(), "cpuNanos")));
            out.append(String.format(Locale.ROOT, "  %-15s %12.1f %12.1f %14.1f%n", name, wall.get(wall.size() - 1),
                    Double.isNaN(error) ? 0 : megabytesPerSecond(error), cpu.get(cpu.size() - 1)));
        }
        out.append(String.format(Locale.ROOT, "  seal: Sealer / raw AES-GCM = %.2f (wall), %.2f (CPU time)%n",
                wall.get(0) / wall.get(1), cpu.get(0) / cpu.get(1)));
        out.append(String.format(Locale.ROOT, "  open: Opener / raw AES-GCM = %.2f (wall), %.2f (CPU time)%n",
                wall.get(2) / wall.get(3), cpu.get(2) / cpu.get(3)));
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
