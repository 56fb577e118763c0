using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using Microsoft.Extensions.Logging;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace NrpHost.Messaging;

/// <summary>
/// Wraps a transport of the embedded broker (TCP, WebSocket) so that an MQTT 3.1.1 client that connects with an
/// empty client id and a clean session gets one assigned, as Mosquitto does (<c>mosquitto_sub</c> without
/// <c>-i</c>). MQTTnet only assigns ids to MQTT 5 clients (see <see cref="EmbeddedBrokerPolicy"/>).
/// </summary>
internal sealed class ClientIdAssigningAdapter(IMqttServerAdapter inner, ILogger log) : IMqttServerAdapter
{
    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        inner.ClientHandler = channel => ClientHandler is { } handler ? handler(new Channel(channel, log)) : Task.CompletedTask;
        return inner.StartAsync(options, logger);
    }

    public Task StopAsync() => inner.StopAsync();

    public void Dispose() => inner.Dispose();

    /// <summary>A client id like Mosquitto's (<c>auto-</c> and 32 random hex digits).</summary>
    public static string NewClientId() => "auto-" + RandomNumberGenerator.GetHexString(32, lowercase: true);

    private sealed class Channel(IMqttChannelAdapter inner, ILogger logger) : IMqttChannelAdapter
    {
        private bool _connectSeen;

        public long BytesReceived => inner.BytesReceived;

        public long BytesSent => inner.BytesSent;

        public X509Certificate2 ClientCertificate => inner.ClientCertificate;

        public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public bool IsSecureConnection => inner.IsSecureConnection;

        public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

        public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

        public void ResetStatistics() => inner.ResetStatistics();

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

        public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            MqttPacket packet;
            try
            {
                packet = await inner.ReceivePacketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (MqttProtocolViolationException ex) when (!_connectSeen)
            {
                // MQTTnet drops such a CONNECT (a zero-byte id without a clean session) without an answer; say why, as
                // MQTT 3.1.1 §3.1.3-8 and Mosquitto do, and log it.
                _connectSeen = true;
                MessagingLog.ConnectionRefused(logger, RemoteEndPoint?.ToString() ?? "unknown", "(none)", ex.Message);
                await inner.SendPacketAsync(
                    new MqttConnAckPacket { ReturnCode = MqttConnectReturnCode.ConnectionRefusedIdentifierRejected, ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid },
                    cancellationToken).ConfigureAwait(false);
                throw;
            }

            if (!_connectSeen && packet is MqttConnectPacket connect)
            {
                _connectSeen = true;

                // MQTT 3.1.1 §3.1.3.1: a server may accept a zero-byte id only with a clean session, and then assigns one.
                if (string.IsNullOrEmpty(connect.ClientId) && connect.CleanSession
                    && inner.PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.V311)
                {
                    connect.ClientId = NewClientId();
                }
            }

            return packet;
        }

        public void Dispose() => inner.Dispose();
    }
}
