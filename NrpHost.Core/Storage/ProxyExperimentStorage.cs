using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace NrpHost.Storage;

/// <summary>
/// Experiments behind the NRP Storage Proxy, fetched with the caller's token: the experiment root is listed by name,
/// every sub-folder by its uuid, and every file downloaded by name into the same relative place under the target
/// directory. Every name from a listing is one plain path segment, confined with <see cref="PathGuard"/>.
/// </summary>
internal sealed class ProxyExperimentStorage : IExperimentStorage
{
    /// <summary>Deeper folder trees are refused (a listing that names itself would never end).</summary>
    private const int MaxDepth = 64;

    private readonly StorageProxyClient _client;
    private readonly ILogger _logger;

    public ProxyExperimentStorage(StorageProxyClient client, ILoggerFactory loggerFactory)
    {
        _client = client;
        _logger = loggerFactory.CreateLogger("NrpHost.Storage");
        StorageLog.ProxyConfigured(_logger, client.ProxyUrl, client.Options.TimeoutSeconds, client.Options.MaxRetries);
    }

    /// <summary>
    /// Whether the proxy answers at all (any HTTP status counts), within <paramref name="timeout"/>: null when it
    /// does, else why not. For health reports.
    /// </summary>
    public async Task<string?> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            await _client.CallAsync("checking that it answers", (api, ct) => api.GetIdentityAsync(StorageProxyClient.NoToken, ct), bounded.Token)
                .ConfigureAwait(false);
            return null;
        }
        catch (ExperimentStorageException ex) when (ex.Error != ExperimentStorageError.Unavailable)
        {
            return null; // it answered (refusing the probe's empty token is an answer)
        }
        catch (ExperimentStorageException ex)
        {
            return ex.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"The storage proxy at {_client.ProxyUrl} did not answer within {timeout.TotalSeconds:0.#} s";
        }
    }

    /// <summary>The proxy's base address, for reports.</summary>
    public string ProxyUrl => _client.ProxyUrl;

    public async Task StageAsync(ExperimentLocation experiment, string targetDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var experimentId = CheckExperimentId(experiment.ExperimentId);
        var token = StorageProxyClient.TokenOrSentinel(experiment.Token);
        var files = new List<(string Folder, string Name, string Relative)>();
        await CollectAsync(experimentId, experimentId, string.Empty, targetDirectory, token, files, 0, cancellationToken).ConfigureAwait(false);

        var options = new ParallelOptions { MaxDegreeOfParallelism = _client.Options.MaxParallelDownloads, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(files, options, async (file, ct) =>
            await DownloadAsync(experimentId, file.Folder, file.Name, file.Relative, targetDirectory, token, ct).ConfigureAwait(false))
            .ConfigureAwait(false);
        StorageLog.Staged(_logger, experimentId, files.Count, _client.ProxyUrl);
    }

    /// <summary>The experiment's listing answers (true), is 404 (false); other errors are thrown (staging reports them).</summary>
    public async Task<bool?> ExistsAsync(ExperimentLocation experiment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        if (!PathGuard.IsSafeSegment(experiment.ExperimentId))
        {
            return false;
        }

        var token = StorageProxyClient.TokenOrSentinel(experiment.Token);
        try
        {
            await _client.CallAsync($"looking for experiment '{experiment.ExperimentId}'",
                (api, ct) => api.ListAsync(experiment.ExperimentId, token, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ExperimentStorageException ex) when (ex.Error == ExperimentStorageError.NotFound)
        {
            return false;
        }
    }

    public async Task<string> UploadAsync(ExperimentLocation experiment, string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(content);
        var experimentId = CheckExperimentId(experiment.ExperimentId);
        if (!PathGuard.IsSafeSegment(fileName))
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused to upload '{fileName}': it must be a single file name.");
        }

        var token = StorageProxyClient.TokenOrSentinel(experiment.Token);
        var bytes = await ReadRestAsync(content, cancellationToken).ConfigureAwait(false);

        // The proxy's upload replaces a file of the same name, so a free name is chosen from the experiment's listing
        // first. Between the listing and the upload another writer could still take that name; archive names carry the
        // host id and the second, so only hosts configured with the same host id can meet there.
        var entries = await _client.CallAsync($"listing experiment '{experimentId}' before uploading '{fileName}'",
            (api, ct) => api.ListAsync(experimentId, token, ct), cancellationToken).ConfigureAwait(false);
        var taken = (entries ?? []).Where(e => e?.Name is not null).Select(e => e.Name!).ToHashSet(StringComparer.Ordinal);
        var attempt = 0;
        while (taken.Contains(ArchiveNames.WithSuffix(fileName, attempt)))
        {
            attempt++;
        }

        fileName = ArchiveNames.WithSuffix(fileName, attempt);
        var what = $"uploading '{fileName}' to experiment '{experimentId}'";
        await _client.CallAsync(what, async (api, ct) =>
        {
            // Bytes, not the caller's stream: the request disposes its content, and the caller may still need the stream.
            using var body = new ByteArrayContent(bytes.Array!, bytes.Offset, bytes.Count);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await api.UploadAsync(experimentId, fileName, body, token, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw _client.FromStatus((int)response.StatusCode, what);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
        StorageLog.Uploaded(_logger, fileName, experimentId);
        return fileName;
    }

    /// <summary>
    /// <c>GET /storage/experiments</c> with the caller's token: every experiment the proxy lists whose <c>id</c> is a
    /// plain folder name, named by its configuration's <c>SimulationName</c> (the proxy includes every key of the
    /// experiment's <c>simulation_config.json</c> in <c>configuration</c>, and names the file in <c>configFile</c>).
    /// </summary>
    public async Task<IReadOnlyList<ExperimentSummary>> ListAsync(string? token, CancellationToken cancellationToken = default)
    {
        const string What = "listing the experiments";
        var bearer = StorageProxyClient.TokenOrSentinel(token);
        return await _client.CallAsync(What, async (api, ct) =>
        {
            using var response = await api.ListExperimentsAsync(bearer, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw _client.FromStatus((int)response.StatusCode, What);
            }

            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using var document = await JsonDocument.ParseAsync(body, ExperimentListing.ParseOptions, ct).ConfigureAwait(false);
                if (document.RootElement.ValueKind != JsonValueKind.Array)
                {
                    throw _client.FromStatus((int)response.StatusCode, What);
                }

                return ExperimentListing.Ordered(document.RootElement.EnumerateArray().Select(Summarize).OfType<ExperimentSummary>());
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private static ExperimentSummary? Summarize(JsonElement experiment)
    {
        if (experiment.ValueKind != JsonValueKind.Object ||
            !experiment.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String ||
            idElement.GetString() is not { } id || !PathGuard.IsSafeSegment(id))
        {
            return null;
        }

        var configuration = experiment.TryGetProperty("configuration", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var configFile = configuration.ValueKind == JsonValueKind.Object && configuration.TryGetProperty("configFile", out var f) &&
                         f.ValueKind == JsonValueKind.String && PathGuard.IsSafeRelative(f.GetString())
            ? f.GetString()!
            : ExperimentListing.DefaultConfiguration;
        return ExperimentListing.Summarize(id, configuration, [configFile]);
    }

    /// <summary>The rest of <paramref name="content"/>, without a copy when it is a memory stream.</summary>
    private static async Task<ArraySegment<byte>> ReadRestAsync(Stream content, CancellationToken cancellationToken)
    {
        if (content is MemoryStream memory && memory.TryGetBuffer(out var buffer))
        {
            var start = (int)memory.Position;
            return buffer.Slice(start, (int)memory.Length - start);
        }

        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return new ArraySegment<byte>(copy.ToArray());
    }

    private static string CheckExperimentId(string experimentId)
    {
        if (!PathGuard.IsSafeSegment(experimentId))
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused the experiment id '{experimentId}': it must be a single folder name.");
        }

        return experimentId;
    }

    /// <summary>Lists <paramref name="folder"/> (an experiment name or a folder uuid), creating sub-folders as it goes.</summary>
    private async Task CollectAsync(
        string experimentId,
        string folder,
        string relativeDirectory,
        string targetDirectory,
        string token,
        List<(string Folder, string Name, string Relative)> files,
        int depth,
        CancellationToken cancellationToken)
    {
        if (depth > MaxDepth)
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused the folder '{relativeDirectory}' of experiment '{experimentId}': folders nest deeper than {MaxDepth} levels.");
        }

        var where = relativeDirectory.Length == 0 ? $"experiment '{experimentId}'" : $"folder '{relativeDirectory}' of experiment '{experimentId}'";
        var entries = await _client.CallAsync($"listing the {where}",
            (api, ct) => api.ListAsync(folder, token, ct), cancellationToken).ConfigureAwait(false);
        var topLevel = depth == 0;
        foreach (var entry in entries ?? [])
        {
            var name = entry?.Name;
            if (entry is null || name is null || (!entry.IsFile && !entry.IsFolder))
            {
                continue;
            }

            if (name.EndsWith(".swp", StringComparison.Ordinal))
            {
                continue;
            }

            if (!PathGuard.IsSafeSegment(name))
            {
                throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                    $"Refused the name '{name}' listed in the {where}: a name from storage must be a single file or folder name (no '/', '\\', '..' or absolute path).");
            }

            var relative = relativeDirectory.Length == 0 ? name : relativeDirectory + "/" + name;
            var local = PathGuard.Resolve(targetDirectory, relative);
            if (entry.IsFolder)
            {
                if (topLevel && name is "logs" or "__pycache__")
                {
                    continue;
                }

                Directory.CreateDirectory(local);
                var uuid = string.IsNullOrEmpty(entry.Uuid) ? folder + "/" + name : entry.Uuid;
                await CollectAsync(experimentId, uuid, relative, targetDirectory, token, files, depth + 1, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (topLevel && (name.EndsWith(".log", StringComparison.Ordinal) || name.EndsWith(".log.zip", StringComparison.Ordinal)))
                {
                    continue;
                }

                files.Add((folder, name, relative));
            }
        }
    }

    private async Task DownloadAsync(
        string experimentId,
        string folder,
        string name,
        string relative,
        string targetDirectory,
        string token,
        CancellationToken cancellationToken)
    {
        var local = PathGuard.Resolve(targetDirectory, relative);
        var what = $"downloading '{relative}' of experiment '{experimentId}'";
        await _client.CallAsync(what, async (api, ct) =>
        {
            using var response = await api.DownloadAsync(folder, name, token, ct).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound)
            {
                // The proxy turns every download failure into 204 with no body; an empty file would hide it. The
                // experiment itself exists (it was just listed): what is missing is this one file.
                throw new ExperimentStorageException(ExperimentStorageError.FileMissing, string.Create(CultureInfo.InvariantCulture,
                    $"The file '{relative}' of experiment '{experimentId}' is listed by the storage proxy but could not be downloaded: it answered {(int)response.StatusCode} (missing file or no access)."));
            }

            if (!response.IsSuccessStatusCode)
            {
                throw _client.FromStatus((int)response.StatusCode, what);
            }

            var file = new FileStream(local, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                await response.Content.CopyToAsync(file, ct).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }
}
