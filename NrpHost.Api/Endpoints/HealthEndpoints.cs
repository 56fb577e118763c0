using Microsoft.AspNetCore.Mvc;
using NrpHost.Api.Contracts;
using NrpHost.Messaging;
using NrpHost.Python;

namespace NrpHost.Api.Endpoints;

/// <summary><c>GET /health</c>: whether the parts NrpHost needs are usable.</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", GetHealth).WithName("GetHealth").WithTags("Health");
        return app;
    }

    internal static Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>> GetHealth(IPythonRuntime python, [FromServices] IMessagingHealth? mqtt = null)
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
            status.Library,
            status.Executable,
            status.Error);
        var healthy = status.State != PythonRuntimeState.Failed;
        var mqttHealth = mqtt is null ? null : new MqttHealth(mqtt.IsConnected, mqtt.Broker, mqtt.IsEmbeddedBroker);
        var body = new HealthResponse(healthy ? "healthy" : "unhealthy", pythonHealth, mqttHealth);
        return healthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
