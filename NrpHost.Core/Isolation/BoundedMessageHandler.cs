using System.Buffers;
using System.Buffers.Binary;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace NrpHost.Isolation;

/// <summary>
/// JSON-RPC messages framed by a 4-byte big-endian length, as StreamJsonRpc's length-header framing, with a bound on
/// the length: the host reads what a worker sends, and a worker runs untrusted code that can write to its channel. A
/// longer message ends the connection (and so the simulation) instead of being buffered.
/// </summary>
internal sealed class BoundedMessageHandler : PipeMessageHandler
{
    /// <summary>The largest message either side accepts (output is sent in batches well below it).</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    private readonly ArrayBufferWriter<byte> _body = new();

    public BoundedMessageHandler(Stream writer, Stream reader, IJsonRpcMessageFormatter formatter)
        : base(writer, reader, formatter)
    {
    }

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        var header = await ReadAtLeastAsync(4, allowEmpty: true, cancellationToken).ConfigureAwait(false);
        if (header.Buffer.Length == 0)
        {
            return null;
        }

        var length = ReadLength(header.Buffer);
        if (length is < 0 or > MaxMessageBytes)
        {
            Reader!.AdvanceTo(header.Buffer.Start);
            throw new InvalidDataException($"The peer sent a message of {length} bytes; at most {MaxMessageBytes} are accepted.");
        }

        Reader!.AdvanceTo(header.Buffer.Start);
        var read = await ReadAtLeastAsync(4 + length, allowEmpty: false, cancellationToken).ConfigureAwait(false);
        var body = read.Buffer.Slice(4, length);
        try
        {
            return Formatter.Deserialize(body);
        }
        finally
        {
            Reader!.AdvanceTo(body.End);
        }
    }

    protected override void Write(JsonRpcMessage content, CancellationToken cancellationToken)
    {
        _body.Clear();
        Formatter.Serialize(_body, content);
        var writer = Writer!;
        var span = writer.GetSpan(4);
        BinaryPrimitives.WriteInt32BigEndian(span, _body.WrittenCount);
        writer.Advance(4);
        writer.Write(_body.WrittenSpan);
    }

    private static int ReadLength(ReadOnlySequence<byte> buffer)
    {
        Span<byte> bytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadInt32BigEndian(bytes);
    }
}
