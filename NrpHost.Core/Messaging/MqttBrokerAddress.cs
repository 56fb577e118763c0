using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace NrpHost.Messaging;

/// <summary>
/// A broker's address: where the status publisher connects, and what nrp-core's data-transfer engine is given as
/// <c>MQTTBroker</c>. <see cref="TryParse"/> is the one parser for every broker address NrpHost reads
/// (<c>NrpHost:Mqtt:Broker</c>, <c>NRP_MQTT_BROKER_ADDRESS</c>, <c>NrpHost:NrpCore:MqttBroker</c>), and
/// <see cref="ToString"/> the one way it is written back.
/// </summary>
internal sealed record MqttBrokerAddress(string Host, int Port, bool IsEmbedded)
{
    /// <summary>The port a bare host means, as the reference's default <c>localhost:1883</c>.</summary>
    public const int DefaultPort = 1883;

    /// <summary><c>host:port</c>, or <c>[v6]:port</c> for an IPv6 address.</summary>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public static MqttBrokerAddress From(MqttOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Broker))
        {
            return TryParse(options.Broker, out var external)
                ? external
                : throw new FormatException($"NrpHost:Mqtt:Broker '{options.Broker}' is not host:port.");
        }

        // A wildcard bind address is reached through loopback.
        var host = options.EmbeddedBindAddress;
        if (string.IsNullOrWhiteSpace(host) || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            host = IPAddress.Loopback.ToString();
        }
        else if (IPAddress.TryParse(host, out var bind))
        {
            if (bind.Equals(IPAddress.Any))
            {
                host = IPAddress.Loopback.ToString();
            }
            else if (bind.Equals(IPAddress.IPv6Any))
            {
                host = IPAddress.IPv6Loopback.ToString();
            }
        }

        return new MqttBrokerAddress(host, options.EmbeddedPort, IsEmbedded: true);
    }

    /// <summary>
    /// Parses <c>host:port</c>, <c>[v6]:port</c>, a bare host or a bracketed IPv6 address (port 1883). The host must
    /// be a DNS name or an IP address; a URL (<c>mqtt://…</c>), an unbracketed IPv6 address with a port, spaces,
    /// quotes or a port outside 1–65535 are refused.
    /// </summary>
    public static bool TryParse(string? value, out MqttBrokerAddress address)
    {
        address = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        value = value.Trim();
        string host;
        var port = DefaultPort;
        if (value.StartsWith('['))
        {
            var end = value.IndexOf(']', StringComparison.Ordinal);
            if (end < 0)
            {
                return false;
            }

            host = value[1..end];
            var rest = value[(end + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port)))
            {
                return false;
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            if (colon >= 0 && value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return false; // an IPv6 address needs brackets, so its port can be told apart
            }

            host = colon < 0 ? value : value[..colon];
            if (colon >= 0 && !TryPort(value[(colon + 1)..], out port))
            {
                return false;
            }

            if (Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
            {
                return false;
            }
        }

        address = new MqttBrokerAddress(host, port, IsEmbedded: false);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
