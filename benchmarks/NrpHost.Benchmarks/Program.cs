using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using NrpHost.Benchmarks;

// step-latency <experiment folder> [--steps N] [--config file] [--out folder]: profile one experiment (see StepLatencyCommand).
if (args.Length > 0 && args[0] == StepLatencyCommand.Verb)
{
    return await StepLatencyCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

// idle-memory [--runs N] [--out file]: the idle server's resident memory in each isolation mode (see IdleMemoryCommand).
if (args.Length > 0 && args[0] == IdleMemoryCommand.Verb)
{
    return await IdleMemoryCommand.RunAsync(args[1..], Console.Out);
}

// CPython is initialised once per process, so every benchmark runs in this process (in-process toolchain).
BenchmarkSwitcher.FromAssembly(typeof(PythonHost).Assembly)
    .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.DisableOptimizationsValidator));
return 0;
