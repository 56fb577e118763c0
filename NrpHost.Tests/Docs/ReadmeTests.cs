using System.Text.RegularExpressions;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Docs;

/// <summary>The README's quick start holds for a fresh machine: what it says to install is what CI installs.</summary>
public sealed partial class ReadmeTests
{
    [Fact]
    public void Prerequisites_NameEveryDebianPackageTheCiInstalls()
    {
        var ci = Packages(AptInstall().Match(File.ReadAllText(Repository.Combine(".ci", "run"))));
        var readme = Packages(AptInstall().Match(File.ReadAllText(Repository.Combine("README.md"))));

        Assert.NotEmpty(ci);
        Assert.Equal(ci.Order(StringComparer.Ordinal), readme.Order(StringComparer.Ordinal));
    }

    private static string[] Packages(Match install)
    {
        Assert.True(install.Success, "no 'apt-get install' line");
        return install.Groups["packages"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(word => !word.StartsWith('-') && !word.StartsWith('>'))
            .ToArray();
    }

    [GeneratedRegex(@"apt-get install (?<packages>[^\n`]*)")]
    private static partial Regex AptInstall();
}
