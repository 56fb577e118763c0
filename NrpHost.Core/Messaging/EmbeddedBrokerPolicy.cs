using System.Text;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace NrpHost.Messaging;

/// <summary>
/// Who may do what on the embedded broker. Any client may connect and subscribe to anything; a client without an
/// id gets one (MQTT 5: the Assigned Client Identifier; MQTT 3.1.1 with a clean session: see
/// <see cref="ClientIdAssigningAdapter"/>). Only the host's own status publisher, which proves its id with a
/// per-process secret, publishes <c>status</c> and <c>runtime_error</c>; a client presenting its id is refused.
/// Other clients publish only under <c>…/data</c> (<see cref="MqttTopics.RefusalForClient"/>). The publisher's empty
/// retained message, which clears a finished simulation's status, only clears it: subscribers never receive it.
/// The host's further <see cref="IMqttConnectionCheck"/>s (credentials) run last.
/// </summary>
internal sealed class EmbeddedBrokerPolicy(MqttPublisherIdentity publisher, string? prefix, ILogger logger, IReadOnlyList<IMqttConnectionCheck>? checks = null)
{
    /// <summary>The CONNACK user property by which the publisher knows it reached this broker and not another one.</summary>
    public const string BrokerProperty = "nrphost-broker";

    private const string PublisherItem = "nrphost.publisher";
    private const string RefusedItem = "nrphost.refused";

    private MqttServer? _server;

    public void Attach(MqttServer server)
    {
        _server = server;
        server.ValidatingConnectionAsync += ValidateConnectionAsync;
        server.InterceptingPublishAsync += InterceptPublishAsync;
    }

    private async Task ValidateConnectionAsync(ValidatingConnectionEventArgs e)
    {
        ValidateIdentity(e);
        if (e.ReasonCode != MqttConnectReasonCode.Success || checks is not { Count: > 0 })
        {
            return;
        }

        var endpoint = e.RemoteEndPoint?.ToString() ?? "unknown";
        foreach (var check in checks)
        {
            if (await check.RefuseAsync(endpoint, e.UserName, e.RawPassword ?? []).ConfigureAwait(false) is { } reason)
            {
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
                MessagingLog.ConnectionRefused(logger, endpoint, e.ClientId ?? "(none)", reason);
                return;
            }
        }
    }

    /// <summary>
    /// The end of a data-transfer stream: its retained topic list (<c>…/data</c>) cleared with an empty payload, as
    /// nrp-core does, or with <c>[]</c>, as the embedded runtime does. The stored list is removed; subscribers get a
    /// plain <c>[]</c>, or nothing for an empty payload: the NRP Frontend parses every topic list as JSON, and one it
    /// cannot parse stops its MQTT client for good.
    /// </summary>
    private async Task EndTopicListAsync(InterceptingPublishEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (!message.Retain || _server is not { } server || !IsEmptyList(message.Payload)
            || MqttTopics.RefusalForClient(prefix, message.Topic, retain: true) is not null)
        {
            return;
        }

        await server.UpdateRetainedMessageAsync(new MqttApplicationMessage { Topic = message.Topic, Retain = true }).ConfigureAwait(false);
        if (message.Payload.IsEmpty)
        {
            e.ProcessPublish = false;
        }
        else
        {
            message.Retain = false;
        }
    }

    private static bool IsEmptyList(System.Buffers.ReadOnlySequence<byte> payload) =>
        payload.IsEmpty || (payload.Length == 2 && payload.FirstSpan.Length == 2 && payload.FirstSpan[0] == (byte)'[' && payload.FirstSpan[1] == (byte)']');

    private void ValidateIdentity(ValidatingConnectionEventArgs e)
    {
        var endpoint = e.RemoteEndPoint?.ToString() ?? "unknown";
        if (string.IsNullOrEmpty(e.ClientId))
        {
            if (e.ProtocolVersion == MqttProtocolVersion.V500)
            {
                e.AssignedClientIdentifier = ClientIdAssigningAdapter.NewClientId();
                MessagingLog.ClientIdAssigned(logger, endpoint, e.AssignedClientIdentifier);
                return;
            }

            // MQTT 3.1.1 with a clean session got one from ClientIdAssigningAdapter already; MQTT 3.1 requires one.
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            MessagingLog.ConnectionRefused(logger, endpoint, "(none)", "a client without an id must use MQTT 5, or MQTT 3.1.1 with a clean session");
            return;
        }

        if (string.Equals(e.ClientId, publisher.ClientId, StringComparison.Ordinal))
        {
            if (!publisher.IsPublisher(e.ClientId, e.RawPassword ?? []))
            {
                e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
                MessagingLog.ConnectionRefused(logger, endpoint, e.ClientId, "the client id is the host's status publisher's");
                return;
            }

            e.SessionItems[PublisherItem] = true;
            e.ResponseUserProperties ??= [];
            e.ResponseUserProperties.Add(new MqttUserProperty(BrokerProperty, Encoding.UTF8.GetBytes(publisher.BrokerProof).AsMemory()));
        }
    }

    private async Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        if (string.IsNullOrEmpty(e.ClientId))
        {
            return; // injected by the host itself
        }

        var message = e.ApplicationMessage;
        if (e.SessionItems.Contains(PublisherItem))
        {
            if (message.Retain && message.Payload.IsEmpty && _server is { } server)
            {
                // Clear the retained status without sending an empty message to subscribers (the NRP Frontend parses
                // every status payload as JSON).
                e.ProcessPublish = false;
                await server.UpdateRetainedMessageAsync(message).ConfigureAwait(false);
                return;
            }

            await EndTopicListAsync(e).ConfigureAwait(false); // a worker's data-transfer engine, relayed
            return;
        }

        if (MqttTopics.RefusalForClient(prefix, message.Topic, message.Retain) is not { } reason)
        {
            await EndTopicListAsync(e).ConfigureAwait(false);
            return;
        }

        e.ProcessPublish = false;
        e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
        e.Response.ReasonString = reason;
        if (!e.SessionItems.Contains(RefusedItem))
        {
            // One warning per client; a client that keeps trying is only logged at debug level.
            e.SessionItems[RefusedItem] = true;
            MessagingLog.PublishRefused(logger, e.ClientId, message.Topic, message.Retain, reason);
        }
        else
        {
            MessagingLog.PublishRefusedAgain(logger, e.ClientId, message.Topic, reason);
        }
    }
}
