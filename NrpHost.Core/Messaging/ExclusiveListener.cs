using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace NrpHost.Messaging;

/// <summary>
/// Whether a TCP port can be listened on by this process alone. A listening socket with <c>SO_REUSEADDR</c> only (not
/// <c>SO_REUSEPORT</c>) binds despite connections in <c>TIME_WAIT</c>, but never beside another listener; and
/// <c>/proc/net/tcp</c> says how many sockets listen on a port.
/// </summary>
internal static class ExclusiveListener
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const string Listen = "0A";

    /// <summary>Whether another socket listens on <paramref name="port"/> of <paramref name="address"/> (or would share it).</summary>
    public static bool Taken(IPAddress address, int port)
    {
        if (port == 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }

        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            probe.Bind(new IPEndPoint(address, port));
            probe.Listen(1);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }

    /// <summary>Whether more than one socket listens on <paramref name="port"/> of <paramref name="address"/> (this process's and another's).</summary>
    public static bool Shared(IPAddress address, int port)
    {
        if (port == 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }

        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        var hex = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var listening = 0;
        try
        {
            foreach (var line in File.ReadLines(v4 ? "/proc/net/tcp" : "/proc/net/tcp6").Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[1].EndsWith(hex, StringComparison.Ordinal) && fields[3] == Listen
                    && (!v4 || Overlaps(address, fields[1][..^hex.Length])))
                {
                    listening++;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return listening > 1;
    }

    /// <summary>Whether a listener on <paramref name="hexAddress"/> (as <c>/proc/net/tcp</c> writes it) takes connections to <paramref name="address"/>.</summary>
    private static bool Overlaps(IPAddress address, string hexAddress)
    {
        if (!uint.TryParse(hexAddress, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var raw))
        {
            return true;
        }

        var other = new IPAddress(raw); // /proc writes the address in the host's (little-endian) byte order, as IPAddress reads it
        return other.Equals(address) || other.Equals(IPAddress.Any) || address.Equals(IPAddress.Any);
    }
}
