using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace NrpHost.Api.Http;

/// <summary>
/// A taken port at start-up is a one-line message, not a stack trace: the server is wrapped so the failure is known
/// before the host logs it, the host's own "Hosting failed to start" record (with the trace) is filtered out for this
/// cause only, and <c>Program</c> prints <see cref="Describe"/> and exits with 1.
/// </summary>
internal static partial class PortInUse
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Wraps the registered <see cref="IServer"/> and filters the host's start-up failure record for a taken port.</summary>
    public static void Watch(WebApplicationBuilder builder)
    {
        var original = builder.Services.LastOrDefault(d => d.ServiceType == typeof(IServer));
        if (original is null)
        {
            return;
        }

        var detected = new StrongBox<bool>();
        builder.Services.Remove(original);
        builder.Services.AddSingleton<IServer>(sp => new Server(detected, original switch
        {
            { ImplementationInstance: IServer instance } => instance,
            { ImplementationFactory: { } factory } => (IServer)factory(sp),
            _ => (IServer)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!),
        }));
        builder.Logging.AddFilter((_, category, level) => !(Volatile.Read(ref detected.Value) && level >= LogLevel.Error && category == HostCategory));
    }

    /// <summary>Whether <paramref name="exception"/> (from starting the app) says that an address is taken.</summary>
    public static bool IsCause(Exception exception) =>
        exception is IOException { InnerException: AddressInUseException } || exception is AddressInUseException;

    /// <summary>One line: which address and port, and how to pick another.</summary>
    public static string Describe(Exception exception, IEnumerable<string> configured)
    {
        var urls = configured.ToList();
        var match = FailedAddress().Match(exception.Message);
        var address = match.Success ? match.Groups["address"].Value : urls.FirstOrDefault() ?? NrpHostApi.DefaultUrl;
        var uri = Parse(address) ?? new Uri(NrpHostApi.DefaultUrl);

        // Name the address as it was configured (http://localhost:8090 rather than the 127.0.0.1:8090 Kestrel tried).
        if (urls.FirstOrDefault(u => Parse(u)?.Port == uri.Port) is { } given && Parse(given) is { } configuredUri)
        {
            address = given;
            uri = configuredUri;
        }

        var other = new UriBuilder(uri) { Port = uri.Port + 1, Path = string.Empty }.Uri.ToString().TrimEnd('/');
        return string.Create(CultureInfo.InvariantCulture,
            $"NrpHost cannot listen on {address}: port {uri.Port} is already in use by another process (another NrpHost?). Stop that process, or choose another address with --urls {other} (or ASPNETCORE_URLS={other}).");
    }

    private static Uri? Parse(string address) =>
        Uri.TryCreate(address.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            ? uri
            : null;

    [GeneratedRegex(@"address (?<address>\S+?): address already in use", RegexOptions.IgnoreCase)]
    private static partial Regex FailedAddress();

    private sealed class Server(StrongBox<bool> detected, IServer inner) : IServer
    {
        public IFeatureCollection Features => inner.Features;

        public async Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull
        {
            try
            {
                await inner.StartAsync(application, cancellationToken);
            }
            catch (Exception ex) when (IsCause(ex))
            {
                Volatile.Write(ref detected.Value, true);
                throw;
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
