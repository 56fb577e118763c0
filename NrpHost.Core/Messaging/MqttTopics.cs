using System.Globalization;

namespace NrpHost.Messaging;

/// <summary>Topic names: <c>[&lt;prefix&gt;/]nrp_simulation/&lt;id&gt;/&lt;kind&gt;</c> (no leading slash when the prefix is empty).</summary>
internal static class MqttTopics
{
    public const string Status = "status";

    public const string RuntimeError = "runtime_error";

    public static string Base(string? prefix, int simulationId)
    {
        var id = simulationId.ToString(CultureInfo.InvariantCulture);
        return string.IsNullOrEmpty(prefix) ? $"nrp_simulation/{id}/" : $"{prefix}/nrp_simulation/{id}/";
    }

    public static string For(string? prefix, int simulationId, string kind) => Base(prefix, simulationId) + kind;
}
