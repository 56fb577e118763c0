using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NrpHost.Api.Contracts;
using NrpHost.Api.Endpoints;
using NrpHost.Api.Events;
using NrpHost.Api.Health;
using NrpHost.Api.Http;
using NrpHost.Api.Identity;
using NrpHost.Api.Messaging;
using NrpHost.Api.Security;
using NrpHost.Api.Telemetry;
using NrpHost.Hosting;

namespace NrpHost.Api;

/// <summary>
/// Builds the NrpHost web application: services, then middleware, then endpoints, top to bottom. Used by
/// <c>Program</c> and by tests (which start it on a loopback port with their own settings).
/// </summary>
public static class NrpHostApi
{
    /// <summary>Where the API listens by default (the NRP backend's port).</summary>
    public const string DefaultUrl = "http://localhost:8090";

    /// <summary>
    /// Builds the application. <paramref name="configure"/> runs first, so a caller can add configuration and
    /// register its own services (they win over NrpHost's defaults, which are added with <c>TryAdd</c>).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        ServerDefaults.AddTo(builder.Configuration);
        configure?.Invoke(builder);
        PortInUse.Watch(builder);

        // The NRP backend's port unless --urls, ASPNETCORE_URLS or the Urls setting say otherwise.
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // Services. The NRP backend's environment variables count where no NrpHost setting says otherwise.
        builder.Configuration.AddInMemoryCollection(ReferenceEnvironment.Map(builder.Configuration));
        builder.Services.PostConfigure<HostIdentityOptions>(ApiHostIdentity.DefaultFrom(builder.Configuration, DefaultUrl)); // before AddNrpHost: Core makes it safe after
        builder.Services.AddNrpHost(builder.Configuration).AddMqttStatusWithWebSockets();
        builder.Services.AddOptions<ApiOptions>()
            .Bind(builder.Configuration.GetSection(ApiOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.AddApiAccess();
        builder.AddNrpHostTelemetry();

        // The request line, which the events stream's and WebSocket's ?access_token= would be part of, is never logged.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Services.TryAddSingleton<CallerResolver>();
        builder.Services.TryAddSingleton<EventStreamRegistry>();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, NrpJsonContext.Default);
            o.SerializerOptions.Encoder = NrpJsonContext.Encoder;

            // Numbers are numbers on the wire (the OpenAPI schema says "integer", not "integer | string"); bodies are
            // read by JsonBody, never bound from strings.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        builder.Services.AddCors();
        builder.Services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>, CorsSetup>();
        builder.Services.AddHealthChecks().AddCheck<SecurityHealthCheck>("security");
        builder.Services.TryAddSingleton<HealthChangeLog>();
        builder.Services.AddOpenApi(OpenApiSetup.Configure);

        var app = builder.Build();
        app.ValidateApiAccess();
        SecurityHealthCheck.AnnounceAtStartup(app, Console.Out);

        // Middleware: NRP error bodies around everything, then CORS (preflights end there with 204, and refusals carry
        // its headers), then the access gate (token or OpenID Connect), then the origin rules CORS cannot enforce
        // (cross-site writes, WebSocket upgrades), then MQTT over WebSocket.
        app.UseMiddleware<NrpErrorMiddleware>();
        app.UseCors();
        app.Use(AnswerOptions);
        app.UseMiddleware<AccessGate>();
        app.UseMiddleware<OriginPolicy>();
        app.UseMqttWebSockets();
        app.UseDashboard();

        // Endpoints.
        app.MapOpenApi();
        app.MapSimulationEndpoints();
        app.MapSimulationEventsEndpoints();
        app.MapExperimentEndpoints();
        app.MapVersionEndpoints();
        app.MapHealthEndpoints();
        app.MapNrpHostMetrics();
        return app;
    }

    /// <summary>Any <c>OPTIONS</c> that is not a CORS preflight is answered with 204, as the NRP backend's nginx does.</summary>
    private static Task AnswerOptions(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsOptions(context.Request.Method))
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
        context.Response.Headers.Allow = "GET, POST, PUT, OPTIONS";
        return Task.CompletedTask;
    }
}
