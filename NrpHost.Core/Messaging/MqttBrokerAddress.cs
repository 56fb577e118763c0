using System.Globalization;
using System.Net;

namespace NrpHost.Messaging;

/// <summary>Where the status publisher connects: the external broker, or the embedded one.</summary>
internal sealed record MqttBrokerAddress(string Host, int Port, bool IsEmbedded)
{
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
        if (IPAddress.TryParse(host, out var bind))
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

    /// <summary>Parses <c>host:port</c> (also <c>[v6]:port</c>); a bare host gets port 1883 like the reference's default.</summary>
    public static bool TryParse(string? value, out MqttBrokerAddress address)
    {
        address = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        value = value.Trim();
        if (value.Contains("://", StringComparison.Ordinal))
        {
            return false;
        }

        string host;
        var port = 1883;
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
        }
        else
        {
            var colon = value.LastIndexOf(':');
            if (colon >= 0 && value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return false; // a bare IPv6 address needs brackets
            }

            host = colon < 0 ? value : value[..colon];
            if (colon >= 0 && !TryPort(value[(colon + 1)..], out port))
            {
                return false;
            }
        }

        if (host.Length == 0)
        {
            return false;
        }

        address = new MqttBrokerAddress(host, port, IsEmbedded: false);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
