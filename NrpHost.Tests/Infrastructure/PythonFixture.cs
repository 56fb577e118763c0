using Microsoft.Extensions.Logging;
using NrpHost.Python;

namespace NrpHost.Tests.Infrastructure;

/// <summary>One embedded interpreter for every test that touches CPython (it is process-wide anyway).</summary>
public sealed class PythonFixture : IDisposable
{
    public PythonFixture()
    {
        Logs = new CapturingLoggerProvider();
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Runtime = new PythonRuntime(new PythonOptions(), LoggerFactory, Environment.GetEnvironmentVariable);
        Runtime.EnsureInitialized();
    }

    public CapturingLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    internal PythonRuntime Runtime { get; }

    public void Dispose()
    {
        Runtime.Dispose();
        LoggerFactory.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PythonCollection : ICollectionFixture<PythonFixture>
{
    public const string Name = "Python";
}
