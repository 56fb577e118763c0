using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace NrpHost.Python;

/// <summary>Initialises CPython at start-up when <see cref="PythonOptions.InitializeAtStartup"/> is set.</summary>
internal sealed class PythonStartupService(IPythonRuntime python, IOptions<PythonOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.InitializeAtStartup)
        {
            try
            {
                python.EnsureInitialized();
            }
            catch (PythonNotAvailableException)
            {
                // Already logged by the runtime; /health reports it.
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
