using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace NrpHost.Benchmarks.Storage;

/// <summary>One call per iteration, so percentile columns are per-call latencies.</summary>
internal sealed class StorageBenchmarkConfig : ManualConfig
{
    public StorageBenchmarkConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(20).WithIterationCount(2000).WithInvocationCount(1).WithUnrollFactor(1));
        AddColumn(StatisticColumn.Median, StatisticColumn.P90, StatisticColumn.P95, new P99Column(), StatisticColumn.Max);
        AddColumnProvider(DefaultColumnProviders.Instance);
    }
}

internal sealed class CreateBenchmarkConfig : ManualConfig
{
    public CreateBenchmarkConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(1).WithIterationCount(5).WithInvocationCount(1).WithUnrollFactor(1));
        AddColumn(StatisticColumn.Min, StatisticColumn.Max);
        AddColumnProvider(DefaultColumnProviders.Instance);
    }
}
