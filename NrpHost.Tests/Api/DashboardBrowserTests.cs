using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.NrpCore;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Api;

/// <summary>
/// The dashboard in a real browser: Debian's <c>chromium</c> (launched by path; Playwright never downloads one here)
/// driven by Playwright against the real API on a loopback port, running the shipped <c>vehicle_closed_loop</c>
/// example on the embedded runtime and an experiment that raises. Any console error or page error fails the test.
/// Screenshots go to <c>screenshots/</c> next to the tests, or to the file <c>NRPHOST_DASHBOARD_SCREENSHOT</c> names
/// (how <c>docs/dashboard.png</c> is made).
/// </summary>
public sealed class DashboardBrowserTests
{
    private const float Timeout = 30_000;

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    // What a script prints and raises is shown as text, never as markup: the lines carry some.
    private const string RaisingScript = """
        for _ in range(5):
            nrp.run_loop()
        print("about to fail <img src=x onerror=\"window.pwned = 1\">")
        raise RuntimeError("the experiment gave up <b>here</b>")
        """;

    [Fact]
    public async Task Dashboard_LaunchStartPauseStop_ThenShowsARuntimeError()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s.Remove("NrpHost:NrpCore:Client");
            s.Remove("NrpHost:NrpCore:PythonPath:0");
        });
        CopyExample("vehicle_closed_loop", host.StorageRoot, "vehicle_closed_loop");
        CopyExample("tf_exchange", host.StorageRoot, "tf_exchange_raises");
        File.WriteAllText(Path.Combine(host.StorageRoot, "tf_exchange_raises", "main_script.py"), RaisingScript);
        var config = Path.Combine(host.StorageRoot, "tf_exchange_raises", "simulation_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["SimulationName"] = "tf_exchange that raises";
        json["SimulationDescription"] = "The tf_exchange engines, with a script that raises a RuntimeError after five steps.";
        File.WriteAllText(config, json.ToJsonString());
        File.WriteAllText(Path.Combine(host.StorageRoot, "tf_exchange_raises", "raising_config.json"), json.ToJsonString());

        await using var browser = await BrowserSession.OpenAsync(host.BaseAddress);
        var page = browser.Page;
        var state = page.Locator("#detail-state");
        var start = Button(page, "Start");
        var pause = Button(page, "Pause");
        var resume = Button(page, "Resume");
        var stop = Button(page, "Stop");

        // 1. The page.
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Experiments" })).ToBeVisibleAsync();
        await Assertions.Expect(Button(page, "Launch vehicle_closed_loop")).ToBeVisibleAsync();
        await AssertEveryControlIsLabelledAsync(page);

        // 2. Launch, with the keyboard only: Tab to the button, Enter.
        await TabToAsync(page, "Launch vehicle_closed_loop");
        await page.Keyboard.PressAsync("Enter");

        // 3. Paused, then started: the clock advances and the output shows.
        await Assertions.Expect(state).ToHaveTextAsync("paused");
        await Assertions.Expect(start).ToBeEnabledAsync();
        await Assertions.Expect(pause).ToBeDisabledAsync();
        await Assertions.Expect(resume).ToBeDisabledAsync();
        await Assertions.Expect(stop).ToBeEnabledAsync();
        await start.ClickAsync();
        await Assertions.Expect(state).ToHaveTextAsync("started");
        await Assertions.Expect(start).ToBeDisabledAsync();
        await Assertions.Expect(pause).ToBeEnabledAsync();
        await page.WaitForFunctionAsync("() => Number(document.getElementById('detail-simulation-time').dataset.value) > 1.5");
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("vehicle at");
        await Assertions.Expect(page.Locator("#rate-caption")).ToContainTextAsync("real time");
        await Assertions.Expect(page.Locator("#simulations tr").First).ToContainTextAsync("started");

        // 4. Pause (the next control to use is Resume, not Start), then stop.
        await pause.ClickAsync();
        await Assertions.Expect(state).ToHaveTextAsync("paused");
        await Assertions.Expect(resume).ToBeEnabledAsync();
        await Assertions.Expect(start).ToBeDisabledAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard.png") });
        await stop.ClickAsync();

        // 5. Stopped: nothing left to press, and the list says so too.
        await Assertions.Expect(state).ToHaveTextAsync("stopped");
        foreach (var control in new[] { start, pause, resume, stop })
        {
            await Assertions.Expect(control).ToBeDisabledAsync();
        }

        await Assertions.Expect(page.Locator("#simulations tr").First).ToContainTextAsync("stopped");

        // 6. An experiment that raises: its runtime error with type, file, line and line text.
        // It has two configuration files: the second is chosen.
        await page.GetByLabel("Configuration for tf_exchange_raises").SelectOptionAsync("raising_config.json");
        await Button(page, "Launch tf_exchange_raises").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-title")).ToContainTextAsync("tf_exchange_raises");
        Assert.Equal("raising_config.json", host.Manager.Find(1)!.ExperimentConfiguration);
        await Assertions.Expect(state).ToHaveTextAsync("paused");
        await start.ClickAsync();
        var error = page.Locator("#errors li").First;
        await Assertions.Expect(error).ToContainTextAsync("Runtime");
        await Assertions.Expect(error).ToContainTextAsync("main_script.py, line 4");
        await Assertions.Expect(error).ToContainTextAsync("the experiment gave up <b>here</b>");
        await Assertions.Expect(error.Locator(".line-text")).ToHaveTextAsync(new Regex(@"^\s*raise RuntimeError\(""the experiment gave up <b>here</b>""\)\s*$"));
        await Assertions.Expect(state).ToHaveTextAsync("completed");
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("about to fail <img src=x onerror=\"window.pwned = 1\">");
        await Assertions.Expect(page.Locator("#errors b, #log img")).ToHaveCountAsync(0);
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined"), "script output ran as markup");
        await Assertions.Expect(stop).ToBeEnabledAsync();

        // At phone width nothing needs sideways scrolling except the simulations table (which scrolls in its own box).
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            "the page scrolls sideways at phone width");
        await Assertions.Expect(Button(page, "Launch vehicle_closed_loop")).ToBeInViewportAsync(new() { Ratio = 0 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-phone.png"), FullPage = true });
        await stop.ClickAsync();
        await Assertions.Expect(state).ToHaveTextAsync("stopped");

        // The first simulation is still there to look at, with its own output.
        await Button(page, "Show simulation 0").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-title")).ToContainTextAsync("vehicle_closed_loop");
        await Assertions.Expect(state).ToHaveTextAsync("stopped");
        await Assertions.Expect(page.Locator("#log")).ToContainTextAsync("vehicle at");
        await Assertions.Expect(page.Locator("#errors li")).ToHaveCountAsync(0);

        Assert.Empty(browser.Problems);
    }

    [Fact]
    public async Task Dashboard_WithTheStorageProxy_AsksForAToken_AndSendsIt()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.Experiment("exp").WithConfig(timeout: 100_000).WithFakeClient("step_seconds", 0.001).Build();
        proxy.Experiment("bobs").Build();
        proxy.Users["token-of-bob"] = "bob";
        proxy.SharedWith["bobs"] = ["bob"];
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);
        await using var browser = await BrowserSession.OpenAsync(host.BaseAddress);
        var page = browser.Page;

        // Nothing is listed, and the proxy is not asked, before there is a token.
        var token = page.GetByLabel("Storage Proxy token", new PageGetByLabelOptions { Exact = true });
        await Assertions.Expect(token).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#alert")).ToContainTextAsync("enter your token");
        Assert.Empty(proxy.RequestsTo("GET", "/storage/experiments"));

        await token.FocusAsync();
        await page.Keyboard.TypeAsync(FakeStorageProxy.Token);
        await page.Keyboard.PressAsync("Enter");

        await Button(page, "Launch exp").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-state")).ToHaveTextAsync("paused");
        // The clocks come from the events stream, which carried the token too.
        await Assertions.Expect(page.Locator("#detail-simulation-time")).ToHaveTextAsync("0.00 s");
        await Button(page, "Start").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-state")).ToHaveTextAsync("started");
        await Button(page, "Stop").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-state")).ToHaveTextAsync("stopped");

        await Assertions.Expect(Button(page, "Launch bobs")).ToHaveCountAsync(0);
        Assert.All(proxy.RequestsTo("GET", "/storage/experiments"), r => Assert.Equal("Bearer " + FakeStorageProxy.Token, r.Authorization));
        Assert.Equal(FakeStorageProxy.User, host.Manager.Find(0)!.Owner);
        Assert.Empty(browser.Problems);
    }

    [Fact]
    public async Task Dashboard_WithTheApiToken_AsksForIt_OrTakesItFromItsAddress_AndClearsTheAddress()
    {
        const string token = "dashboard-api-token-0123456789";
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:Token"] = token);
        host.LongExperiment().Build();

        // Without it, the page asks for the API token and asks the API for nothing that needs it.
        await using (var asking = await BrowserSession.OpenAsync(host.BaseAddress))
        {
            await Assertions.Expect(asking.Page.GetByLabel("API token", new PageGetByLabelOptions { Exact = true })).ToBeVisibleAsync();
            await Assertions.Expect(asking.Page.Locator("#alert")).ToContainTextAsync("enter your token");
            Assert.Empty(asking.Problems);
        }

        // The address NrpHost prints: the page keeps the token in the tab and drops it from the address bar.
        await using var browser = await BrowserSession.OpenAsync(new Uri(host.BaseAddress, "/?token=" + token));
        var page = browser.Page;
        await Button(page, "Launch exp").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-state")).ToHaveTextAsync("paused");
        await Assertions.Expect(page.Locator("#detail-simulation-time")).ToHaveTextAsync("0.00 s"); // the events stream
        Assert.DoesNotContain("token", page.Url, StringComparison.Ordinal);
        Assert.Equal(token, await page.EvaluateAsync<string>("sessionStorage.getItem('nrphost.token')"));
        await Button(page, "Stop").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-state")).ToHaveTextAsync("stopped");
        Assert.Empty(browser.Problems);
    }

    private static ILocator Button(IPage page, string name) =>
        page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = name, Exact = true });

    /// <summary>Presses Tab until the button named <paramref name="name"/> has the focus.</summary>
    private static async Task TabToAsync(IPage page, string name)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<string?>("() => document.activeElement?.getAttribute('aria-label')") == name)
            {
                return;
            }
        }

        Assert.Fail($"'{name}' cannot be reached with Tab");
    }

    /// <summary>Every button, field and list has a name a screen reader can say.</summary>
    private static async Task AssertEveryControlIsLabelledAsync(IPage page)
    {
        var unlabelled = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('button, input, select, [role=log], [role=region]')]
              .filter(el => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.labels?.length || el.textContent.trim()))
              .map(el => el.outerHTML)
            """);
        Assert.Empty(unlabelled);
    }

    private static string ScreenshotPath(string name)
    {
        if (name == "dashboard.png" && Environment.GetEnvironmentVariable("NRPHOST_DASHBOARD_SCREENSHOT") is { Length: > 0 } target)
        {
            return Path.GetFullPath(target);
        }

        return Path.Combine(AppContext.BaseDirectory, "screenshots", name);
    }

    private static void CopyExample(string example, string storageRoot, string name)
    {
        var source = Path.Combine(ExampleExperimentTests.RepositoryExperiments(), example);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Contains("__pycache__", StringComparison.Ordinal) || relative.EndsWith(".log.zip", StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(storageRoot, name, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Debian's chromium with a fresh profile, on one page of the dashboard; collects console and page errors.</summary>
    private sealed class BrowserSession : IAsyncDisposable
    {
        private readonly TempDirectory _profile;
        private readonly IPlaywright _playwright;
        private readonly IBrowserContext _context;

        private BrowserSession(TempDirectory profile, IPlaywright playwright, IBrowserContext context, IPage page)
        {
            _profile = profile;
            _playwright = playwright;
            _context = context;
            Page = page;
            page.SetDefaultTimeout(Timeout);
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    Problems.Enqueue("console: " + message.Text);
                }
            };
            page.PageError += (_, error) => Problems.Enqueue("page error: " + error);
        }

        public IPage Page { get; }

        /// <summary>Every console error and uncaught page error.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<string> Problems { get; } = new();

        public static async Task<BrowserSession> OpenAsync(Uri address)
        {
            Assertions.SetDefaultExpectTimeout(Timeout);
            var profile = new TempDirectory("chromium");
            var playwright = await Playwright.CreateAsync();
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.Path, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = Chromium(),
                Headless = true,
                Args = ChromiumArgs,
                ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            });
            var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
            var session = new BrowserSession(profile, playwright, context, page);
            await page.GotoAsync(address.ToString());
            return session;
        }

        private static string Chromium()
        {
            var path = Environment.GetEnvironmentVariable("NRPHOST_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
            Assert.True(File.Exists(path), $"Debian's chromium is needed at {path} (apt-get install chromium; .ci/run installs it).");
            return path;
        }

        public async ValueTask DisposeAsync()
        {
            await _context.DisposeAsync();
            _playwright.Dispose();
            _profile.Dispose();
        }
    }
}
