using System.Net;
using System.Text.RegularExpressions;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>The dashboard's files as a browser fetches them (the browser itself: <see cref="DashboardBrowserTests"/>).</summary>
public sealed partial class DashboardTests
{
    [Fact]
    public async Task Root_IsThePage_WithAPolicyThatAllowsOnlyThisHost()
    {
        await using var host = await ApiHost.StartAsync();

        var page = await host.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("text/html", page.MediaType);
        Assert.Contains("<title>NrpHost</title>", page.Text, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", page.Headers["Content-Security-Policy"], StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", page.Headers["Content-Security-Policy"], StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers["X-Content-Type-Options"]);
    }

    [Fact]
    public async Task EveryFileThePageLoads_IsServed_WithItsType()
    {
        await using var host = await ApiHost.StartAsync();
        var page = (await host.GetAsync("/")).Text;
        var pending = new Queue<string>(Referenced().Matches(page).Select(m => m.Groups["path"].Value).Where(p => !p.StartsWith("data:", StringComparison.Ordinal)));
        var seen = new HashSet<string>(StringComparer.Ordinal);

        while (pending.TryDequeue(out var path))
        {
            if (!seen.Add(path))
            {
                continue;
            }

            var response = await host.GetAsync("/" + path);
            Assert.True(response.Status == HttpStatusCode.OK, $"{path}: {response.Code}");
            if (path.EndsWith(".js", StringComparison.Ordinal))
            {
                Assert.Equal("text/javascript", response.MediaType);
                // Follow the module's own imports, relative to it.
                var folder = path[..(path.LastIndexOf('/') + 1)];
                foreach (Match import in Imported().Matches(response.Text))
                {
                    pending.Enqueue(folder + import.Groups["file"].Value);
                }
            }
            else if (path.EndsWith(".css", StringComparison.Ordinal))
            {
                Assert.Equal("text/css", response.MediaType);
            }
        }

        Assert.Contains("dashboard/js/app.js", seen);
        Assert.Contains("dashboard/js/events.js", seen);
        Assert.Contains("dashboard/dashboard.css", seen);
    }

    [Theory]
    [InlineData("/dashboard/../appsettings.json")]
    [InlineData("/dashboard/%2E%2E/appsettings.json")]
    [InlineData("/dashboard/..%2Fappsettings.json")]
    [InlineData("/dashboard/missing.js")]
    [InlineData("/index.html")]
    public async Task NothingElse_IsServed(string path)
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.GetAsync(path);

        response.AssertNrpError(404);
    }

    [GeneratedRegex("(?:src|href)=\"(?<path>[^\"#]+)\"")]
    private static partial Regex Referenced();

    [GeneratedRegex("""from "\./(?<file>[a-z]+\.js)";""")]
    private static partial Regex Imported();
}
