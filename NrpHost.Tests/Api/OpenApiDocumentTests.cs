using System.Text.Json;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>
/// <c>/openapi/v1.json</c> is a valid OpenAPI 3.1 document (read and validated by Microsoft.OpenApi) that says what the
/// wire does, and meets the rules of redocly's recommended set that it once broke.
/// </summary>
public sealed class OpenApiDocumentTests
{
    [Fact]
    public async Task Document_ReadsAndValidatesWithoutAnyError()
    {
        await using var host = await ApiHost.StartAsync();

        var (document, text) = await LoadAsync(host);

        Assert.StartsWith("3.1", JsonDocument.Parse(text).RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var errors = document.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Pointer}: {e.Message}")));
        Assert.Contains("/simulation/{id}/state", document.Paths.Keys);
    }

    [Fact]
    public async Task Document_DeclaresTheBearerToken_SummariesTagsAndLicense_AndItsVersionIsTheHostsVersion()
    {
        await using var host = await ApiHost.StartAsync();
        var version = (await host.GetAsync("/version")).Json.GetProperty("hbp_nrp_backend").GetString();

        var (document, _) = await LoadAsync(host);

        var scheme = Assert.Single(document.Components!.SecuritySchemes!);
        Assert.Equal(SecuritySchemeType.Http, scheme.Value.Type);
        Assert.Equal("bearer", scheme.Value.Scheme);
        Assert.Contains(document.Security!, requirement => requirement.Keys.Any(k => k.Reference.Id == scheme.Key));
        Assert.Contains(document.Security!, requirement => requirement.Count == 0); // local storage needs no token
        Assert.All(document.Paths.SelectMany(p => p.Value.Operations!.Select(o => (Route: p.Key, Operation: o.Value))), o =>
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.Summary), o.Route + " has no summary"));
        Assert.All(document.Tags!, t => Assert.False(string.IsNullOrWhiteSpace(t.Description), t.Name + " has no description"));
        Assert.All(document.Servers!, s => Assert.False(s.Url!.EndsWith('/'), s.Url + " ends with a slash"));
        Assert.Equal("Apache-2.0", document.Info.License?.Name);
        Assert.Equal(version, document.Info.Version);
    }

    [Fact]
    public async Task Schemas_SayWhatTheWireCarries()
    {
        await using var host = await ApiHost.StartAsync();

        var (document, _) = await LoadAsync(host);

        var schemas = document.Components!.Schemas!;
        var simulation = schemas["SimulationResponse"];
        Assert.Equal(JsonSchemaType.Integer, simulation.Properties!["simulationID"].Type);
        Assert.Equal(["created", "paused", "started", "completed", "stopped", "failed"], simulation.Properties["state"].Enum!.Select(v => v.GetValue<string>()));
        Assert.Equal("date-time", simulation.Properties["creationDate"].Format);
        Assert.Equal(9, simulation.Required!.Count);
        Assert.Equal(["created", "paused", "started", "completed", "stopped", "failed"], schemas["StateResponse"].Properties!["state"].Enum!.Select(v => v.GetValue<string>()));
        Assert.Equal(["data", "message", "type"], schemas["ErrorResponse"].Required!.Order(StringComparer.Ordinal));
    }

    private static async Task<(OpenApiDocument Document, string Text)> LoadAsync(ApiHost host)
    {
        var response = await host.GetAsync("/openapi/v1.json");
        Assert.Equal(200, response.Code);
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(response.Text));
        var read = await OpenApiDocument.LoadAsync(stream, "json");
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0,
            string.Join("\n", read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        return (read.Document!, response.Text);
    }
}
