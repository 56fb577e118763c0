using Microsoft.Extensions.DependencyInjection;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>Unknown routes, wrong methods, bad ids and handler faults answer NRP error bodies (B23).</summary>
public sealed class NrpErrorMiddlewareTests
{
    [Theory]
    [InlineData("GET", "/nope")]
    [InlineData("GET", "/simulation/abc")]
    [InlineData("GET", "/simulation/-1")]
    [InlineData("GET", "/simulation/1.5")]
    [InlineData("GET", "/simulation/99999999999999999999")]
    [InlineData("PUT", "/simulation/abc/state")]
    [InlineData("GET", "/simulation/0/resources")]
    [InlineData("GET", "/health/errors")]
    public async Task UnknownRoute_Returns404Json(string method, string path)
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(new HttpMethod(method), path, method == "PUT" ? """{"state":"started"}""" : null);

        response.AssertNrpError(404, "The command you requested was not found on this server", "Client error");
    }

    [Theory]
    [InlineData("PUT", "/simulation")]
    [InlineData("DELETE", "/simulation")]
    [InlineData("DELETE", "/simulation/0")]
    [InlineData("POST", "/simulation/0/state")]
    [InlineData("PATCH", "/simulation/0/state")]
    [InlineData("POST", "/version")]
    public async Task WrongMethod_Returns405JsonWithAllow(string method, string path)
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(new HttpMethod(method), path, "{}");

        response.AssertNrpError(405, "The method is not allowed for the requested URL.", "Client error");
        Assert.True(response.Headers.ContainsKey("Allow"));
    }

    [Fact]
    public async Task HandlerFault_Returns500GeneralErrorWithoutInternals()
    {
        await using var host = await ApiHost.StartAsync(services: s => s.AddSingleton<ISimulationManager, BrokenManager>());

        var response = await host.GetAsync("/simulation");

        var body = response.AssertNrpError(500, type: "General error");
        Assert.DoesNotContain("secret detail", response.Text, StringComparison.Ordinal);
        Assert.StartsWith("Internal server error: ", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("")]
    [InlineData("Basic x y z")]
    public async Task OddAuthorizationHeaders_AreNeverAServerError(string header)
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();

        var response = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"paused"}""",
            configure: r => r.Headers.TryAddWithoutValidation("Authorization", header));

        Assert.Equal(200, response.Code);
    }

    private sealed class BrokenManager : ISimulationManager
    {
        public event EventHandler<SimulationStateChangedEventArgs>? StateChanged { add { } remove { } }

        public event EventHandler<SimulationErrorEventArgs>? RuntimeError { add { } remove { } }

        public event EventHandler<SimulationProgressEventArgs>? Progress { add { } remove { } }

        public event EventHandler<SimulationOutputEventArgs>? Output { add { } remove { } }

        public Task<CreateSimulationResult> CreateAsync(SimulationRequest request, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("secret detail");

        public SimulationSnapshot? Find(int id) => throw new InvalidOperationException("secret detail");

        public IReadOnlyList<SimulationSnapshot> List() => throw new InvalidOperationException("secret detail");

        public Task<StateChangeResult> RequestStateAsync(int id, SimulationState target, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("secret detail");
    }
}
