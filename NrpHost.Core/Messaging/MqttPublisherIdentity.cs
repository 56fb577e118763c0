using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using NrpHost.Hosting;

namespace NrpHost.Messaging;

/// <summary>
/// Who the host's status publisher is on the broker: its client id and, on the embedded broker, the secret it
/// proves that id with. The id names the host and is random per process, as is the secret. This is the only place a
/// publisher client id is built.
/// </summary>
internal sealed class MqttPublisherIdentity
{
    private const string IdStart = "nrphost_";

    private readonly byte[] _secret;

    public MqttPublisherIdentity(IOptions<HostIdentityOptions> host)
        : this(host.Value.HostId)
    {
    }

    internal MqttPublisherIdentity(string? hostId)
    {
        HostId = hostId ?? string.Empty;
        ClientId = NewClientId(HostId);
        _secret = Encoding.ASCII.GetBytes(RandomNumberGenerator.GetHexString(64, lowercase: true));
        BrokerProof = RandomNumberGenerator.GetHexString(32, lowercase: true);
    }

    /// <summary>The host id (<see cref="HostIdentityOptions.HostId"/>) this publisher speaks for.</summary>
    public string HostId { get; }

    /// <summary><c>nrphost_[&lt;host id&gt;_]&lt;32 random hex digits&gt;</c>: names the host, unique per host instance, and not guessable.</summary>
    public string ClientId { get; }

    /// <summary>The password the publisher presents to the embedded broker.</summary>
    public byte[] Secret => _secret;

    /// <summary>What the embedded broker answers the publisher with, so the publisher knows it reached its own broker.</summary>
    public string BrokerProof { get; }

    /// <summary>Whether a connecting client is this publisher: its id and its secret (compared in constant time).</summary>
    public bool IsPublisher(string? clientId, ReadOnlySpan<byte> password) =>
        string.Equals(clientId, ClientId, StringComparison.Ordinal) && CryptographicOperations.FixedTimeEquals(password, _secret);

    internal static string NewClientId(string hostId)
    {
        var id = new StringBuilder(IdStart);
        foreach (var c in hostId.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(HostIds.MaxLength))
        {
            id.Append(c);
        }

        if (id.Length > IdStart.Length)
        {
            id.Append('_');
        }

        return id.Append(RandomNumberGenerator.GetHexString(32, lowercase: true)).ToString();
    }
}
