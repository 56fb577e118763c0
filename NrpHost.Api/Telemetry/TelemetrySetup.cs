using NrpHost.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace NrpHost.Api.Telemetry;

/// <summary>
/// The host's meter and activity source (<see cref="NrpHostTelemetry"/>) through the OpenTelemetry SDK:
/// <list type="bullet">
/// <item>OTLP (traces and metrics) when the standard variables say where: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or the
/// per-signal <c>…_TRACES_ENDPOINT</c> / <c>…_METRICS_ENDPOINT</c>), with <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>
/// <c>grpc</c> (default) or <c>http/protobuf</c>, and every other <c>OTEL_*</c> variable the SDK knows;</item>
/// <item>Prometheus text at <c>/metrics</c> with <see cref="ApiOptions.PrometheusMetrics"/>.</item>
/// </list>
/// With neither, the SDK is not started at all.
/// </summary>
internal static class TelemetrySetup
{
    /// <summary>The scrape path of <see cref="ApiOptions.PrometheusMetrics"/>.</summary>
    public const string MetricsPath = "/metrics";

    private static readonly string[] OtlpEndpoints =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    public static void AddNrpHostTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = OtlpEndpoints.Any(key => !string.IsNullOrWhiteSpace(builder.Configuration[key]));
        var prometheus = Prometheus(builder.Configuration);
        if (!otlp && !prometheus)
        {
            return;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: builder.Configuration["OTEL_SERVICE_NAME"] ?? "nrphost",
                serviceVersion: Endpoints.VersionEndpoints.Version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(NrpHostTelemetry.MeterName);
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            // The request's span is the parent of the simulation's (a span under an unsampled request would be dropped).
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != MetricsPath)
                .AddSource(NrpHostTelemetry.ActivitySourceName)
                .AddOtlpExporter());
        }
    }

    /// <summary>Serves <c>/metrics</c> when <see cref="ApiOptions.PrometheusMetrics"/> is set (behind the access gate, as every route).</summary>
    public static void MapNrpHostMetrics(this WebApplication app)
    {
        if (Prometheus(app.Configuration))
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        }
    }

    private static bool Prometheus(IConfiguration configuration) =>
        configuration.GetValue<bool>($"{ApiOptions.SectionName}:{nameof(ApiOptions.PrometheusMetrics)}");
}
