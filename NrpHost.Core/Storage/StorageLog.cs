using Microsoft.Extensions.Logging;

namespace NrpHost.Storage;

/// <summary>Log messages of the storage concept (event ids 4xx).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Experiment {ExperimentId} staged from the storage proxy at {ProxyUrl}: {FileCount} files")]
    public static partial void Staged(ILogger logger, string experimentId, int fileCount, string proxyUrl);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Uploaded {FileName} to experiment {ExperimentId} on the storage proxy")]
    public static partial void Uploaded(ILogger logger, string fileName, string experimentId);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "The token's user could not be resolved by the storage proxy: {Reason}")]
    public static partial void IdentityFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "The view check for experiment {ExperimentId} failed at the storage proxy: {Reason}")]
    public static partial void AccessCheckFailed(ILogger logger, string experimentId, string reason);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Experiments come from the NRP Storage Proxy at {ProxyUrl} (timeout {TimeoutSeconds} s, {MaxRetries} retries of reads)")]
    public static partial void ProxyConfigured(ILogger logger, string proxyUrl, double timeoutSeconds, int maxRetries);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Staging skipped {Entry}: {Reason}")]
    public static partial void EntrySkipped(ILogger logger, string entry, string reason);
}
