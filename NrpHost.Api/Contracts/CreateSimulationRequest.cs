using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>
/// Body of <c>POST /simulation</c>. Only <c>experimentID</c> is required. <c>state</c> and <c>private</c> (sent by
/// the NRP Frontend) and any other field are accepted and ignored.
/// </summary>
/// <param name="ExperimentId">The storage experiment (folder name) to run.</param>
/// <param name="ExperimentConfiguration">The configuration file, relative to the experiment root; default <c>simulation_config.json</c>.</param>
/// <param name="MainScript">The script, relative to the experiment root; default <c>main_script.py</c>.</param>
/// <param name="CtxId">The collab context id, forwarded to storage access checks; default null.</param>
/// <param name="State">Ignored (the frontend sends <c>created</c>).</param>
/// <param name="Private">Ignored (simulations are always private).</param>
/// <param name="Profile">Profile the step latency (<c>GET /simulation/{id}/profile</c>, time logs in the log archive); default false.</param>
public sealed record CreateSimulationRequest(
    [property: JsonPropertyName("experimentID")] string ExperimentId,
    [property: JsonPropertyName("experimentConfiguration")] string? ExperimentConfiguration = null,
    [property: JsonPropertyName("mainScript")] string? MainScript = null,
    [property: JsonPropertyName("ctxId")] string? CtxId = null,
    [property: JsonPropertyName("state")] string? State = null,
    [property: JsonPropertyName("private")] bool? Private = null,
    [property: JsonPropertyName("profile")] bool? Profile = null)
{
    internal const string DefaultExperimentConfiguration = "simulation_config.json";
    internal const string DefaultMainScript = "main_script.py";
    private const int MaxExperimentIdLength = 255;

    /// <summary>The longest accepted value of the other text fields (a file name or a context id is far shorter).</summary>
    internal const int MaxFieldLength = 1024;

    /// <summary>Reads the request from a parsed body (a JSON object), checking presence and types.</summary>
    internal static bool TryRead(JsonElement body, out CreateSimulationRequest? request, out ErrorResponse? error)
    {
        request = null;
        if (!body.TryGetProperty("experimentID", out var experimentId) || experimentId.ValueKind == JsonValueKind.Null)
        {
            error = ErrorResponse.NotGiven("experimentID");
            return false;
        }

        if (!TryString(experimentId, "experimentID", out var id, out error)
            || !TryOptionalString(body, "experimentConfiguration", out var configuration, out error)
            || !TryOptionalString(body, "mainScript", out var script, out error)
            || !TryOptionalString(body, "ctxId", out var contextId, out error)
            || !TryOptionalBoolean(body, "profile", out var profile, out error))
        {
            return false;
        }

        if (!IsFolderName(id!))
        {
            error = ErrorResponse.Client(
                $"Invalid experimentID: it must be one folder name of at most {MaxExperimentIdLength} characters, without '/', '\\', '?', '#', '%' or control characters.");
            return false;
        }

        request = new CreateSimulationRequest(id!, configuration ?? DefaultExperimentConfiguration, script ?? DefaultMainScript, contextId, Profile: profile);
        return true;
    }

    private static bool TryOptionalBoolean(JsonElement body, string name, out bool? value, out ErrorResponse? error)
    {
        value = null;
        error = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            value = element.GetBoolean();
            return true;
        }

        error = ErrorResponse.Client(string.Create(CultureInfo.InvariantCulture,
            $"Invalid {name}: expected true or false, got {element.ValueKind.ToString().ToLowerInvariant()}."));
        return false;
    }

    private static bool TryOptionalString(JsonElement body, string name, out string? value, out ErrorResponse? error)
    {
        value = null;
        error = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (!TryString(element, name, out value, out error))
        {
            return false;
        }

        if (value!.Length > MaxFieldLength)
        {
            error = ErrorResponse.Client(string.Create(CultureInfo.InvariantCulture,
                $"Invalid {name}: it is {value.Length} characters long; at most {MaxFieldLength} are accepted."));
            value = null;
            return false;
        }

        return true;
    }

    private static bool TryString(JsonElement element, string name, out string? value, out ErrorResponse? error)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            value = element.GetString();
            error = null;
            return true;
        }

        value = null;
        error = ErrorResponse.Client(string.Create(CultureInfo.InvariantCulture,
            $"Invalid {name}: expected a string, got {element.ValueKind.ToString().ToLowerInvariant()}."));
        return false;
    }

    /// <summary>
    /// An experiment id is one folder name; blank ids are left to the simulation manager ("not given"). Anything
    /// that could change a storage path or URL is refused before storage is asked.
    /// </summary>
    private static bool IsFolderName(string id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return true;
        }

        if (id.Length > MaxExperimentIdLength || id is "." or ".." || id.Trim().Length != id.Length)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is '/' or '\\' or '?' or '#' or '%' || char.IsControl(c)
                || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return false;
            }
        }

        return true;
    }
}
