using NrpHost.Api;
using NrpHost.Api.Http;

// Published self-contained, the server is also its own worker process (there is no 'dotnet' to run another with).
if (args is [NrpHost.Isolation.WorkerLauncher.WorkerArgument, .. var worker])
{
    return await NrpHost.Isolation.WorkerProgram.RunAsync(worker).ConfigureAwait(false);
}

NrpHost.Isolation.WorkerLauncher.ApplicationRunsWorkers = true;

// Everything is set up in NrpHostApi.Build (services, middleware, endpoints), so tests build the same app.
var app = NrpHostApi.Build(args);
var urls = (app.Configuration["urls"] ?? NrpHostApi.DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
try
{
    app.Run();
    return 0;
}
catch (Exception ex) when (PortInUse.IsCause(ex))
{
    // One line that says what to do, instead of the server's stack trace.
    await Console.Error.WriteLineAsync(PortInUse.Describe(ex, urls));
    return 1;
}

/// <summary>The API's entry point; public so tests can start it.</summary>
public partial class Program;
