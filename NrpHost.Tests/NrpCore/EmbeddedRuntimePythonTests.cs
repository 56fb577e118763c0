using System.Text.RegularExpressions;
using NrpHost.Tests.Infrastructure;
using Python.Runtime;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// Runs the embedded nrp-core runtime's Python tests (<c>NrpCore/python/test_*.py</c>) inside the host's embedded
/// interpreter, one xunit case per test function.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed partial class EmbeddedRuntimePythonTests(PythonFixture python)
{
    private static readonly string TestsFolder = Path.Combine(AppContext.BaseDirectory, "NrpCore", "python");

    [GeneratedRegex(@"^def (test_\w+)\(\):", RegexOptions.Multiline)]
    private static partial Regex TestFunction();

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.EnumerateFiles(TestsFolder, "test_*.py").Order(StringComparer.Ordinal))
        {
            foreach (Match match in TestFunction().Matches(File.ReadAllText(file)))
            {
                data.Add(Path.GetFileNameWithoutExtension(file), match.Groups[1].Value);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PythonTest(string module, string function)
    {
        Assert.NotNull(python.Runtime);
        var embedded = Path.Combine(python.Runtime.PackagesPath, "embedded");
        using (Py.GIL())
        {
            using var scope = Py.CreateScope();
            scope.Set("tests_folder", TestsFolder);
            scope.Set("embedded", embedded);
            scope.Set("module_name", module);
            scope.Set("function_name", function);
            scope.Exec("""
                import importlib, sys, traceback
                from nrphost import runner
                for path in (embedded, tests_folder):
                    if path not in sys.path:
                        sys.path.insert(0, path)
                runner._prefer_packages_of(embedded)
                try:
                    getattr(importlib.import_module(module_name), function_name)()
                    failure = None
                except BaseException:
                    failure = traceback.format_exc()
                """);
            using var failure = scope.Get("failure");
            if (!failure.IsNone())
            {
                Assert.Fail(failure.As<string>());
            }
        }
    }
}
