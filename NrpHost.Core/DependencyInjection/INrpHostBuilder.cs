using Microsoft.Extensions.DependencyInjection;

namespace NrpHost.DependencyInjection;

/// <summary>Returned by <c>AddNrpHost</c>; chains the optional parts (MQTT status, storage…).</summary>
public interface INrpHostBuilder
{
    /// <summary>The service collection NrpHost registers into.</summary>
    IServiceCollection Services { get; }

    /// <summary>The configuration options are bound from, when one was given.</summary>
    Microsoft.Extensions.Configuration.IConfiguration? Configuration { get; }
}

internal sealed class NrpHostBuilder(IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration? configuration)
    : INrpHostBuilder
{
    public IServiceCollection Services { get; } = services;

    public Microsoft.Extensions.Configuration.IConfiguration? Configuration { get; } = configuration;
}
