using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Runs the BenchmarkDotNet suite with a short job, so that every benchmark fits in a few minutes on 2 cores.</summary>
internal static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        // In-process: no per-run project build, which alone would take longer than the measurements.
        // 3 warm-up and 5 measured iterations of 200 ms: enough for operations of nanoseconds to
        // microseconds; pass BenchmarkDotNet's own arguments (--iterationCount, --job) for more.
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(200))
            .WithId("Short");

        var config = DefaultConfig.Instance
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default);

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroBenchmarks).Assembly).Run(args, config);
        return summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success)) ? 1 : 0;
    }
}
