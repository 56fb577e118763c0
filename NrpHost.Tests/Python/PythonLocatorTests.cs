using NrpHost.Python;

namespace NrpHost.Tests.Python;

public sealed class PythonLocatorTests
{
    private static string? NoEnvironment(string name) => null;

    [Fact]
    public void Locate_WithExplicitBadLibrary_ListsThePlaceAndHowToFix()
    {
        var options = new PythonOptions { Library = "/nonexistent/libpython3.99.so" };

        var error = Assert.Throws<PythonNotAvailableException>(() => PythonLocator.Locate(options, NoEnvironment));

        Assert.Contains("option NrpHost:Python:Library = '/nonexistent/libpython3.99.so': file not found", error.Message, StringComparison.Ordinal);
        Assert.Contains("libpython3-dev", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_WithBadEnvironmentVariable_NamesTheVariable()
    {
        var error = Assert.Throws<PythonNotAvailableException>(() =>
            PythonLocator.Locate(new PythonOptions(), name => name == "PYTHONNET_PYDLL" ? "/nowhere/libpython.so" : null));

        Assert.Contains("environment variable PYTHONNET_PYDLL = '/nowhere/libpython.so'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_WithMissingExecutable_ReportsItAndFallsBackToWellKnownLocations()
    {
        var options = new PythonOptions { Executable = "/nonexistent/python3" };

        try
        {
            var found = PythonLocator.Locate(options, NoEnvironment);
            Assert.Equal("well-known location", found.Source);
            Assert.True(File.Exists(found.Library));
        }
        catch (PythonNotAvailableException error)
        {
            // A machine without a system libpython: every place is listed.
            Assert.Contains("executable '/nonexistent/python3'", error.Message, StringComparison.Ordinal);
            Assert.Contains("well-known location /usr/lib", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Locate_ByDefault_AsksPython3ForItsSharedLibrary()
    {
        var found = PythonLocator.Locate(new PythonOptions(), NoEnvironment);

        Assert.True(File.Exists(found.Library), found.Library);
        Assert.Contains("libpython3.", Path.GetFileName(found.Library), StringComparison.Ordinal);
        Assert.NotNull(found.Executable);
    }

    [Theory]
    [MemberData(nameof(PythonVersionsTests.Libraries), MemberType = typeof(PythonVersionsTests))]
    public void Locate_WithExplicitLibrary_FindsItsInterpreterAndHome(string library)
    {
        var found = PythonLocator.Locate(new PythonOptions { Library = library, Executable = "/nonexistent/python" }, NoEnvironment);

        Assert.Equal(library, found.Library);
        Assert.NotNull(found.Executable);
        Assert.True(File.Exists(found.Executable), found.Executable);
    }
}
