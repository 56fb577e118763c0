using System.Text.RegularExpressions;
using System.Xml.Linq;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Packaging;

/// <summary>What <c>dotnet pack NrpHost.Core</c> puts in the package besides the code: license, README, symbols.</summary>
public sealed partial class PackageFilesTests
{
    [Fact]
    public void License_IsTheApache20Text_TheProjectDeclares()
    {
        var license = File.ReadAllText(Repository.Combine("LICENSE"));
        var props = XDocument.Load(Repository.Combine("Directory.Build.props"));

        Assert.Contains("Apache License", license, StringComparison.Ordinal);
        Assert.Contains("Version 2.0, January 2004", license, StringComparison.Ordinal);
        Assert.Contains("END OF TERMS AND CONDITIONS", license, StringComparison.Ordinal);
        Assert.Equal("Apache-2.0", props.Descendants("PackageLicenseExpression").Single().Value);
    }

    [Fact]
    public void PackageReadme_IsItsOwn_WithoutRelativeLinks()
    {
        var project = XDocument.Load(Repository.Combine("NrpHost.Core", "NrpHost.Core.csproj"));
        var packed = project.Descendants("None").Single(e => (string?)e.Attribute("PackagePath") == "/README.md");
        var readme = File.ReadAllText(Repository.Combine("NrpHost.Core", (string)packed.Attribute("Include")!));

        Assert.Equal("README.md", project.Descendants("PackageReadmeFile").Single().Value);
        Assert.True(readme.Length < 6000, "the package README is meant to be short");
        Assert.Empty(RelativeLinks().Matches(readme));
        Assert.Contains("AddNrpHost", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_MakesASymbolsPackageWithSourceLink()
    {
        var project = XDocument.Load(Repository.Combine("NrpHost.Core", "NrpHost.Core.csproj"));
        string Property(string name) => project.Descendants(name).Select(e => e.Value).FirstOrDefault() ?? string.Empty;

        Assert.Equal("true", Property("IncludeSymbols"));
        Assert.Equal("snupkg", Property("SymbolPackageFormat"));
        Assert.Equal("true", Property("Deterministic"));
        Assert.Contains(project.Descendants("PackageReference"), r => (string?)r.Attribute("Include") == "Microsoft.SourceLink.GitHub");
    }

    /// <summary>Markdown links and images whose target is not an absolute URL.</summary>
    [GeneratedRegex(@"\]\((?!https?://)[^)]*\)")]
    private static partial Regex RelativeLinks();
}
