using NrpHost.Api.Health;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary><c>GET /health</c> answers anyone who reaches the port: it names files, never the host's absolute paths.</summary>
public sealed class HealthPathsTests
{
    [Fact]
    public async Task Health_NamesNoAbsolutePathOfTheHost()
    {
        await using var host = await ApiHost.StartAsync();

        var health = await host.GetAsync("/health");

        Assert.Equal(200, health.Code);
        foreach (var path in new[] { host.StorageRoot, host.WorkDirectory, AppContext.BaseDirectory.TrimEnd('/'), "/usr/", "/root/", "/tmp/" })
        {
            Assert.DoesNotContain(path, health.Text, StringComparison.Ordinal);
        }

        Assert.Matches(@"^libpython3\.\d+\.so", health.Json.GetProperty("python").GetProperty("library").GetString());
        Assert.Contains("experiments", health.Json.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CPython available at /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0, loaded later", "CPython available at libpython3.11.so.1.0, loaded later")]
    [InlineData("local folder /srv/nrp/experiments", "local folder experiments")]
    [InlineData("tried '/opt/py/lib/libpython3.12.so': file not found; (/usr/lib/libpython3.13.so)", "tried 'libpython3.12.so': file not found; (libpython3.13.so)")]
    [InlineData("http://proxy:9000/storage stays a URL, and 3/4 stays a ratio", "http://proxy:9000/storage stays a URL, and 3/4 stays a ratio")]
    [InlineData("ends with a path: /var/lib/nrphost/work.", "ends with a path: work.")]
    public void HidePaths_KeepsTheLastPartOfEachAbsolutePath(string text, string expected) =>
        Assert.Equal(expected, HealthText.HidePaths(text));
}
