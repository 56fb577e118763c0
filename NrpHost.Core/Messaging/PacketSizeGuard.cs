using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;

namespace NrpHost.Messaging;

/// <summary>
/// A connection of the embedded broker whose incoming MQTT packets may not be larger than
/// <see cref="MqttOptions.EmbeddedMaxPacketBytes"/>. MQTTnet's broker has no such limit: it allocates a buffer of the
/// size a packet's header announces (up to 256 MiB) before reading the body. The guard follows the packet framing in
/// what is read (fixed header, remaining length, body) and fails the read that completes an oversized header, before
/// MQTTnet sees its length; the broker then closes the connection.
/// </summary>
internal sealed class PacketSizeGuard(IMqttChannel inner, int maxPacketBytes, Action<long> refused) : IMqttChannel
{
    private Phase _phase = Phase.Type;
    private long _length;
    private int _lengthBytes;
    private long _bodyLeft;

    private enum Phase
    {
        Type,
        Length,
        Body,
    }

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, isEndOfPacket, cancellationToken);

    public async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var read = await inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        Follow(buffer.AsSpan(offset, read));
        return read;
    }

    public void Dispose() => inner.Dispose();

    /// <summary>Follows the framing through <paramref name="bytes"/>; throws once a packet is announced larger than the limit.</summary>
    internal void Follow(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            switch (_phase)
            {
                case Phase.Type:
                    i++;
                    _phase = Phase.Length;
                    _length = 0;
                    _lengthBytes = 0;
                    break;
                case Phase.Length:
                    var b = bytes[i++];
                    _length |= (long)(b & 0x7F) << (7 * _lengthBytes);
                    _lengthBytes++;
                    var size = 1 + _lengthBytes + _length;
                    if (size > maxPacketBytes || ((b & 0x80) != 0 && _lengthBytes == 4))
                    {
                        refused(size);
                        throw new IOException(string.Create(CultureInfo.InvariantCulture,
                            $"The client sent a packet of {size} bytes or more; the broker takes at most {maxPacketBytes} (NrpHost:Mqtt:EmbeddedMaxPacketBytes)."));
                    }

                    if ((b & 0x80) == 0)
                    {
                        _bodyLeft = _length;
                        _phase = _bodyLeft == 0 ? Phase.Type : Phase.Body;
                    }

                    break;
                default:
                    var skip = (int)Math.Min(_bodyLeft, bytes.Length - i);
                    i += skip;
                    _bodyLeft -= skip;
                    if (_bodyLeft == 0)
                    {
                        _phase = Phase.Type;
                    }

                    break;
            }
        }
    }
}
