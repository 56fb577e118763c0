namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// nrp-core's own tests and examples, unchanged, at <c>../shared/nrp-core-conformance/</c> (see its <c>ORIGIN.md</c>):
/// tests run them from there and never copy them into the project.
/// </summary>
public static class Conformance
{
    public static string Folder { get; } = Repository.Combine("..", "shared", "nrp-core-conformance");

    /// <summary>Why the folder cannot be used, or null when it can.</summary>
    public static string? WhyNot => Directory.Exists(Folder)
        ? null
        : $"nrp-core's tests and examples (nrp-core 1.4.1, unchanged; its ORIGIN.md lists them) are not at {Folder}";

    public static string Combine(params string[] parts) => Path.Combine([Folder, .. parts]);
}

/// <summary>A theory that runs nrp-core's own files; skipped, with the reason, where they are not there.</summary>
public sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute()
    {
        if (Conformance.WhyNot is { } reason)
        {
            Skip = reason;
        }
    }
}
