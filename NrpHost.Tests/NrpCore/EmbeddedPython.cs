using NrpHost.Tests.Infrastructure;
using Python.Runtime;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// Runs Python code against the embedded nrp-core runtime in the host's interpreter. A session keeps one Python scope
/// across calls, so a client made in one call can be used in the next; each call returns the value the code left in
/// <c>result</c> (a string).
/// </summary>
internal sealed class EmbeddedPython : IDisposable
{
    private readonly PyModule _scope;

    public EmbeddedPython(PythonFixture python)
    {
        Assert.NotNull(python.Runtime);
        var embedded = Path.Combine(python.Runtime.PackagesPath, "embedded");
        using (Py.GIL())
        {
            _scope = Py.CreateScope();
            _scope.Set("embedded", embedded);
            _scope.Exec("""
                import sys
                from nrphost import runner
                if embedded not in sys.path:
                    sys.path.insert(0, embedded)
                runner._prefer_packages_of(embedded)
                """);
        }
    }

    /// <summary>Sets <paramref name="variables"/>, runs <paramref name="code"/> and returns <c>str(result)</c>.</summary>
    public string Run(string code, IReadOnlyDictionary<string, object>? variables = null)
    {
        using (Py.GIL())
        {
            foreach (var (name, value) in variables ?? new Dictionary<string, object>())
            {
                _scope.Set(name, value);
            }

            _scope.Set("result", string.Empty);
            _scope.Exec(code);
            using var result = _scope.Get("result");
            return result.ToString() ?? string.Empty;
        }
    }

    public void Dispose()
    {
        using (Py.GIL())
        {
            _scope.Dispose();
        }
    }
}
