using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace NrpHost.Python;

/// <summary>A CPython shared library and the interpreter that belongs to it.</summary>
internal sealed record PythonInstallation(string Library, string? Executable, string? Home, string Source);

/// <summary>
/// Finds the CPython shared library, in this order: the <c>NrpHost:Python:Library</c> option, the
/// <c>PYTHONNET_PYDLL</c> environment variable, the configured executable's <c>sysconfig</c>, then
/// well-known locations. An explicit option or variable that points nowhere is an error, never skipped.
/// </summary>
internal static class PythonLocator
{
    internal const string LibraryVariable = "PYTHONNET_PYDLL";
    private static readonly int[] SupportedMinors = [13, 12, 11];

    private const string FixHint =
        "To fix it, install a CPython 3.11-3.13 with its shared library (on Debian/Ubuntu: " +
        "'apt-get install libpython3-dev', or 'libpython3.11' for the runtime only), or point the option " +
        "NrpHost:Python:Library (environment variable NrpHost__Python__Library) or PYTHONNET_PYDLL at a " +
        "libpython3.X.so file, or NrpHost:Python:Executable at a Python built with --enable-shared.";

    public static PythonInstallation Locate(PythonOptions options, Func<string, string?> environment)
    {
        var tried = new List<string>();

        if (!string.IsNullOrWhiteSpace(options.Library))
        {
            return Explicit(options.Library, "option NrpHost:Python:Library", options, tried);
        }

        var fromEnvironment = environment(LibraryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Explicit(fromEnvironment, "environment variable " + LibraryVariable, options, tried);
        }

        var asked = AskExecutable(options.Executable, tried);
        if (asked is not null)
        {
            return asked;
        }

        foreach (var candidate in WellKnownLibraries())
        {
            if (File.Exists(candidate.Library))
            {
                return new PythonInstallation(candidate.Library, candidate.Executable, null, "well-known location");
            }

            tried.Add($"well-known location {candidate.Library}: not found");
        }

        throw NotFound(tried);
    }

    private static PythonInstallation Explicit(string library, string source, PythonOptions options, List<string> tried)
    {
        if (!File.Exists(library))
        {
            tried.Add($"{source} = '{library}': file not found");
            throw NotFound(tried);
        }

        // Ask the executable only to learn sys.executable and the prefix; the library stays as given.
        var probe = Probe(options.Executable, new List<string>());
        var executable = probe?.Executable ?? GuessExecutable(library);
        var home = probe is not null && SameVersion(library, probe.Version) ? probe.Prefix : null;
        return new PythonInstallation(Path.GetFullPath(library), executable, home, source);
    }

    private static PythonInstallation? AskExecutable(string executable, List<string> tried)
    {
        var probe = Probe(executable, tried);
        if (probe is null)
        {
            return null;
        }

        if (!probe.Shared)
        {
            tried.Add($"executable '{executable}' (Python {probe.Version}, {probe.Executable}): built without a shared library (Py_ENABLE_SHARED=0)");
            return null;
        }

        if (!IsSupported(probe.Version))
        {
            tried.Add($"executable '{executable}' (Python {probe.Version}): version not supported (pythonnet 3.2.1 supports 3.11-3.13 here)");
            return null;
        }

        foreach (var library in probe.CandidateLibraries)
        {
            if (File.Exists(library))
            {
                return new PythonInstallation(library, probe.Executable, probe.Prefix, $"sysconfig of '{executable}'");
            }

            tried.Add($"executable '{executable}' (Python {probe.Version}) sysconfig: {library} not found");
        }

        return null;
    }

    private sealed record ProbeResult(string Version, string Executable, string Prefix, bool Shared, IReadOnlyList<string> CandidateLibraries);

    private const string ProbeScript =
        "import json, sys, sysconfig\n" +
        "v = sysconfig.get_config_var\n" +
        "print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], 'executable': sys.executable, " +
        "'prefix': sys.base_prefix, 'shared': bool(v('Py_ENABLE_SHARED')), 'libdir': v('LIBDIR') or '', " +
        "'libpl': v('LIBPL') or '', 'multiarch': v('MULTIARCH') or '', 'ldlibrary': v('LDLIBRARY') or '', " +
        "'instsoname': v('INSTSONAME') or ''}))\n";

    private static ProbeResult? Probe(string executable, List<string> tried)
    {
        try
        {
            var start = new ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
            };
            start.ArgumentList.Add("-I");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(ProbeScript);
            using var process = Process.Start(start);
            if (process is null)
            {
                tried.Add($"executable '{executable}': could not be started");
                return null;
            }

            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                process.Kill(entireProcessTree: true);
                tried.Add($"executable '{executable}': did not answer within 15 s");
                return null;
            }

            if (process.ExitCode != 0)
            {
                tried.Add($"executable '{executable}': exited with code {process.ExitCode}: {error.Result.Trim()}");
                return null;
            }

            using var json = JsonDocument.Parse(output.Result);
            var root = json.RootElement;
            string Get(string name) => root.GetProperty(name).GetString() ?? string.Empty;
            var names = new[] { Get("instsoname"), Get("ldlibrary") }
                .Where(n => n.Contains(".so", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            var dirs = new List<string> { Get("libdir") };
            if (Get("multiarch").Length > 0 && Get("libdir").Length > 0)
            {
                dirs.Add(Path.Combine(Get("libdir"), Get("multiarch")));
            }

            dirs.Add(Get("libpl"));
            var candidates = dirs.Where(d => d.Length > 0)
                .SelectMany(d => names.Select(n => Path.Combine(d, n)))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            return new ProbeResult(Get("version"), Get("executable"), Get("prefix"), root.GetProperty("shared").GetBoolean(), candidates);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            tried.Add($"executable '{executable}': not found ({ex.Message})");
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or IOException)
        {
            tried.Add($"executable '{executable}': unexpected answer ({ex.Message})");
            return null;
        }
    }

    private static IEnumerable<(string Library, string? Executable)> WellKnownLibraries()
    {
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x86_64-linux-gnu",
            Architecture.Arm64 => "aarch64-linux-gnu",
            _ => null,
        };
        foreach (var minor in SupportedMinors)
        {
            var name = $"libpython3.{minor}.so.1.0";
            var exe = $"/usr/bin/python3.{minor}";
            if (arch is not null)
            {
                yield return ($"/usr/lib/{arch}/{name}", File.Exists(exe) ? exe : null);
            }

            yield return ($"/usr/lib64/{name}", File.Exists(exe) ? exe : null);
            yield return ($"/usr/lib/{name}", File.Exists(exe) ? exe : null);
            var localExe = $"/usr/local/bin/python3.{minor}";
            yield return ($"/usr/local/lib/{name}", File.Exists(localExe) ? localExe : null);
        }
    }

    private static bool IsSupported(string version) =>
        Version.TryParse(version, out var v) && v.Major == 3 && v.Minor >= 11;

    private static bool SameVersion(string library, string version)
    {
        var parts = version.Split('.');
        return parts.Length >= 2 && Path.GetFileName(library).StartsWith($"libpython{parts[0]}.{parts[1]}", StringComparison.Ordinal);
    }

    private static string? GuessExecutable(string library)
    {
        var name = Path.GetFileName(library);
        var start = "libpython".Length;
        var end = name.IndexOf(".so", StringComparison.Ordinal);
        if (!name.StartsWith("libpython", StringComparison.Ordinal) || end <= start)
        {
            return null;
        }

        var version = name[start..end];
        var libDir = Path.GetDirectoryName(library) ?? "/";
        foreach (var prefix in new[] { Path.GetDirectoryName(libDir), Path.GetDirectoryName(Path.GetDirectoryName(libDir)) })
        {
            if (prefix is null)
            {
                continue;
            }

            var candidate = Path.Combine(prefix, "bin", "python" + version);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static PythonNotAvailableException NotFound(List<string> tried)
    {
        var message = new StringBuilder("CPython could not be found. Places tried:");
        foreach (var attempt in tried)
        {
            message.Append("\n  - ").Append(attempt);
        }

        message.Append('\n').Append(FixHint);
        return new PythonNotAvailableException(message.ToString());
    }
}
