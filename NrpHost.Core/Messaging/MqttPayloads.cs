using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using NrpHost.Simulation;

namespace NrpHost.Messaging;

/// <summary>
/// The JSON the NRP Frontend reads on the <c>status</c> and <c>runtime_error</c> topics. Written by hand with
/// <see cref="Utf8JsonWriter"/> so field order and types are exactly the reference's and no reflection is needed.
/// Text is escaped only where JSON requires it (quotes and control characters; <c>'</c>, <c>&lt;</c> and non-ASCII stay
/// as they are), and times are in seconds rounded to the microsecond, written without an exponent.
/// </summary>
public static class MqttPayloads
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>{"realTime","simulationTime","state","simulationTimeLeft"}</c>: seconds, never null.</summary>
    public static byte[] Status(SimulationState state, SimulationClock clock) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("realTime", Seconds(clock.RealTime));
        writer.WriteNumber("simulationTime", Seconds(clock.SimulationTime));
        writer.WriteString("state", state.ToWireName());
        writer.WriteNumber("simulationTimeLeft", Seconds(clock.SimulationTimeLeft));
        writer.WriteEndObject();
    });

    /// <summary>
    /// Shutdown progress: start <c>{"progress":{"task","subtask":"","number_of_subtasks":0,"subtask_index":0,"block_ui":true}}</c>,
    /// end <c>{"progress":{"task","done":true}}</c>. No <c>state</c> key, so the frontend ignores them.
    /// </summary>
    public static byte[] Progress(string task, bool done) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartObject("progress");
        writer.WriteString("task", task);
        if (done)
        {
            writer.WriteBoolean("done", true);
        }
        else
        {
            writer.WriteString("subtask", string.Empty);
            writer.WriteNumber("number_of_subtasks", 0);
            writer.WriteNumber("subtask_index", 0);
            writer.WriteBoolean("block_ui", true);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    /// <summary><c>{"sim_id" (string),"msg","error_type","fileName","line_number","offset","line_text"}</c>.</summary>
    public static byte[] RuntimeError(SimulationError error) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("sim_id", error.SimulationId.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("msg", error.Message ?? string.Empty);
        writer.WriteString("error_type", error.ErrorType ?? string.Empty);
        writer.WriteString("fileName", error.FileName ?? string.Empty);
        writer.WriteNumber("line_number", error.LineNumber);
        writer.WriteNumber("offset", error.Offset);
        writer.WriteString("line_text", error.LineText ?? string.Empty);
        writer.WriteEndObject();
    });

    /// <summary>Seconds rounded to the microsecond (no <c>53.620000000000005</c>, no <c>2E-07</c>); 0 when not finite.</summary>
    internal static decimal Seconds(double value) =>
        double.IsFinite(value) && Math.Abs(value) < 1e15
            ? Math.Round((decimal)value, 6, MidpointRounding.AwayFromZero) / 1.000000000000000000000000000000000m // drops trailing zeros
            : 0m;

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
