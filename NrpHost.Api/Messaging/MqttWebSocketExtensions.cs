using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MQTTnet.Server;
using NrpHost.Api.Contracts;
using NrpHost.Api.Security;
using NrpHost.DependencyInjection;
using NrpHost.Messaging;

namespace NrpHost.Api.Messaging;

/// <summary>
/// MQTT over WebSocket on the API's own port, for browsers (the NRP Frontend), served by the embedded broker.
/// Accepted at <c>/mqtt</c> and at <c>/</c> (the frontend's MQTT client connects to <c>ws://host:port</c> with no
/// path). Only WebSocket upgrade requests are taken; every other request passes through. While the embedded broker is
/// not running (another process holds its port) upgrades are answered 503 with the reason.
/// </summary>
internal static class MqttWebSocketExtensions
{
    public const string Path = "/mqtt";

    /// <summary>Adds MQTT status publishing and the WebSocket transport of the embedded broker.</summary>
    public static INrpHostBuilder AddMqttStatusWithWebSockets(this INrpHostBuilder builder)
    {
        builder.AddMqttStatus();
        builder.Services.TryAddSingleton(sp => new GuardedWebSocketServerAdapter(
            sp.GetRequiredService<IOptions<MqttOptions>>().Value.EmbeddedMaxPacketBytes, sp.GetRequiredService<ILogger<EmbeddedMqttBroker>>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMqttServerAdapter, GuardedWebSocketServerAdapter>(
            sp => sp.GetRequiredService<GuardedWebSocketServerAdapter>()));
        builder.Services.TryAddSingleton<WebSocketCredentials>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMqttConnectionCheck, WebSocketCredentials>(sp => sp.GetRequiredService<WebSocketCredentials>()));
        return builder;
    }

    /// <summary>Accepts MQTT WebSocket connections when the embedded broker is used (not with an external broker).</summary>
    public static WebApplication UseMqttWebSockets(this WebApplication app)
    {
        if (app.Services.GetService<IMessagingHealth>() is not { IsEmbeddedBroker: true } messaging)
        {
            return app;
        }

        var adapter = app.Services.GetRequiredService<GuardedWebSocketServerAdapter>();
        var credentials = app.Services.GetRequiredService<WebSocketCredentials>();
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            if (!context.WebSockets.IsWebSocketRequest || context.Request.Path.Value is not (Path or "/" or ""))
            {
                await next(context);
                return;
            }

            if (messaging.EmbeddedBrokerRunning == false)
            {
                var reason = messaging.Problem ?? "the embedded broker is not running";
                // Accepting would hand the browser a connection nobody serves; say why instead.
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsJsonAsync(
                    new ErrorResponse($"MQTT over WebSocket is not available: {reason}", ErrorResponse.ServerErrorType, reason),
                    NrpJsonContext.Wire.ErrorResponse,
                    "application/json; charset=utf-8",
                    context.RequestAborted);
                return;
            }

            var subProtocol = MqttSubProtocolSelector.SelectSubProtocol(context.Request);
            using var webSocket = await context.WebSockets.AcceptWebSocketAsync(subProtocol);
            var remote = new IPEndPoint(context.Connection.RemoteIpAddress ?? IPAddress.None, context.Connection.RemotePort);
            using var password = context.Items.ContainsKey(AccessGate.CredentialsInConnectItem) ? credentials.RequireFrom(remote) : null;
            await adapter.RunAsync(webSocket, remote, context.Request.IsHttps);
        });
        return app;
    }
}
