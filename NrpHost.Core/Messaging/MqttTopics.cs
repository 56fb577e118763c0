using System.Globalization;

namespace NrpHost.Messaging;

/// <summary>Topic names: <c>[&lt;prefix&gt;/]nrp_simulation/&lt;id&gt;/&lt;kind&gt;</c> (no leading slash when the prefix is empty).</summary>
internal static class MqttTopics
{
    public const string Root = "nrp_simulation";

    public const string Status = "status";

    public const string RuntimeError = "runtime_error";

    public const string Data = "data";

    public static string Base(string? prefix, int simulationId)
    {
        var id = simulationId.ToString(CultureInfo.InvariantCulture);
        return string.IsNullOrEmpty(prefix) ? $"{Root}/{id}/" : $"{prefix}/{Root}/{id}/";
    }

    public static string For(string? prefix, int simulationId, string kind) => Base(prefix, simulationId) + kind;

    /// <summary>
    /// Why a client other than the host's own publisher may not publish this message on the embedded broker, or
    /// null when it may: only <c>[prefix/]nrp_simulation/+/data</c> and <c>…/data/#</c> (where nrp-core's
    /// data-transfer engine publishes) are open, and retained only on <c>…/data</c> (its topic list).
    /// </summary>
    public static string? RefusalForClient(string? prefix, string topic, bool retain)
    {
        var rest = topic.AsSpan();
        if (!string.IsNullOrEmpty(prefix))
        {
            if (!rest.StartsWith(prefix, StringComparison.Ordinal) || rest.Length <= prefix.Length || rest[prefix.Length] != '/')
            {
                return OnlyData(prefix);
            }

            rest = rest[(prefix.Length + 1)..];
        }

        // nrp_simulation / <id> / data [/ …]
        Span<Range> parts = stackalloc Range[4];
        var count = rest.Split(parts, '/');
        if (count < 3 || !rest[parts[0]].SequenceEqual(Root) || rest[parts[1]].IsEmpty || !rest[parts[2]].SequenceEqual(Data))
        {
            var kind = count >= 3 && rest[parts[0]].SequenceEqual(Root) ? rest[parts[2]] : [];
            return kind.SequenceEqual(Status) || kind.SequenceEqual(RuntimeError)
                ? "only the host publishes status and runtime_error"
                : OnlyData(prefix);
        }

        return retain && count > 3 ? "retained messages are accepted only on …/data" : null;
    }

    private static string OnlyData(string? prefix) =>
        $"clients may publish only under {(string.IsNullOrEmpty(prefix) ? string.Empty : prefix + "/")}{Root}/<id>/{Data}";
}
