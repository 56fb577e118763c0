using Microsoft.Extensions.Diagnostics.HealthChecks;
using NrpHost.Api.Contracts;
using NrpHost.Api.Health;
using NrpHost.Api.Http;
using NrpHost.Messaging;
using NrpHost.Python;

namespace NrpHost.Api.Endpoints;

/// <summary>
/// <c>GET /health</c>: whether the parts NrpHost needs are usable: Python, then every registered
/// <see cref="IHealthCheck"/> (<c>storage</c> here; other parts such as MQTT add theirs with
/// <c>services.AddHealthChecks().AddCheck&lt;T&gt;("mqtt")</c>). 503 when one is unhealthy.
/// </summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", GetHealthAsync).WithName("GetHealth").WithTags("Health")
            .WithSummary("Whether the host can run simulations: Python, simulations, storage, MQTT and security checks (503 when unhealthy).")
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> GetHealthAsync(
        IPythonRuntime python, HealthCheckService checks, HealthChangeLog changes, IServiceProvider services, CancellationToken cancellationToken)
    {
        var status = python.GetStatus();
        var pythonHealth = new PythonHealth(
            status.State switch
            {
                PythonRuntimeState.Ready => "ready",
                PythonRuntimeState.NotInitialized => "available",
                _ => "unavailable",
            },
            status.Version,
            status.Library is { } library ? Path.GetFileName(library) : null,
            status.Executable is { } executable ? Path.GetFileName(executable) : null,
            HealthText.HidePaths(status.Error));

        var report = await checks.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        changes.Record(report);
        var parts = report.Entries.ToDictionary(
            e => e.Key,
            e => new ComponentHealth(Name(e.Value.Status), HealthText.HidePaths(e.Value.Description ?? e.Value.Exception?.Message)),
            StringComparer.Ordinal);

        var overall = report.Status;
        var mqtt = services.GetService<IMessagingHealth>();
        var mqttHealth = mqtt is null ? null : new MqttHealth(mqtt.IsConnected, mqtt.Broker, mqtt.IsEmbeddedBroker, mqtt.EmbeddedBrokerRunning, HealthText.HidePaths(mqtt.Problem));
        var body = new HealthResponse(Name(overall), pythonHealth, parts, mqttHealth);
        return overall == HealthStatus.Unhealthy
            ? TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Ok(body);
    }

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}
