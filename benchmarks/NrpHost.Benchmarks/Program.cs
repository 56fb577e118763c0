using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// CPython is initialised once per process, so every benchmark runs in this process (in-process toolchain).
BenchmarkSwitcher.FromAssembly(typeof(NrpHost.Benchmarks.PythonHost).Assembly)
    .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.DisableOptimizationsValidator));
