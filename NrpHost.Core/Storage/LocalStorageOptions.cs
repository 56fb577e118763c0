namespace NrpHost.Storage;

/// <summary>Experiments in a local folder (the default storage).</summary>
public sealed class LocalStorageOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Storage";

    /// <summary>
    /// The folder whose sub-folders are experiments. Default: <c>experiments</c> in the current directory, or the
    /// nearest <c>experiments</c> folder above the application.
    /// </summary>
    public string? LocalRoot { get; set; }
}
