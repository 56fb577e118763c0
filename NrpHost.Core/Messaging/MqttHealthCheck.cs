using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Messaging;

/// <summary>
/// The MQTT part of a health report (registered as <c>mqtt</c> by <c>AddMqttStatus</c>): healthy while status reaches
/// the broker; degraded, with the reason, when it cannot (the embedded broker could not listen because another
/// process holds its port, or the broker cannot be reached). Never unhealthy: simulations run without MQTT.
/// </summary>
public sealed class MqttHealthCheck : IHealthCheck
{
    private readonly IMessagingHealth _messaging;

    /// <summary>Creates the check over the status publisher's view of the broker.</summary>
    public MqttHealthCheck(IMessagingHealth messaging)
    {
        _messaging = messaging;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var which = _messaging.IsEmbeddedBroker ? "embedded broker" : "broker";
        if (_messaging.IsConnected)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"status is published on the {which} at {_messaging.Broker}"));
        }

        return Task.FromResult(_messaging.Problem is { } problem
            ? HealthCheckResult.Degraded($"status is not published: {problem}")
            : HealthCheckResult.Healthy($"connecting to the {which} at {_messaging.Broker}"));
    }
}
