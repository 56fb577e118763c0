using NrpHost.Messaging;

namespace NrpHost.Tests.Messaging;

/// <summary>The framing the embedded broker's size guard follows, fed in every split a connection can deliver.</summary>
public sealed class PacketSizeGuardTests
{
    private const int Max = 1000;

    [Fact]
    public void PacketsUpToTheLimit_PassInAnySplit()
    {
        // Three packets: no body, a body needing a two-byte length, and one of exactly the limit.
        var stream = Packet(0xC0, 0).Concat(Packet(0x30, 200)).Concat(Packet(0x30, Max - 3)).ToArray();

        for (var split = 1; split <= stream.Length; split++)
        {
            var refused = new List<long>();
            var guard = new PacketSizeGuard(null!, Max, refused.Add);
            foreach (var chunk in stream.Chunk(split))
            {
                guard.Follow(chunk);
            }

            Assert.Empty(refused);
        }
    }

    [Theory]
    [InlineData(Max - 2)] // one byte over: 1 + 2 length bytes + 998
    [InlineData(268_435_455)] // the largest length MQTT can announce
    public void APacketOverTheLimit_IsRefusedAtItsHeader_BeforeItsBody(int remaining)
    {
        var refused = new List<long>();
        var guard = new PacketSizeGuard(null!, Max, refused.Add);
        guard.Follow(Packet(0x30, 5));
        var header = Packet(0x30, remaining)[..(1 + LengthBytes(remaining))];

        var error = Assert.Throws<IOException>(() =>
        {
            foreach (var b in header)
            {
                guard.Follow([b]);
            }
        });

        Assert.Contains("NrpHost:Mqtt:EmbeddedMaxPacketBytes", error.Message, StringComparison.Ordinal);
        Assert.True(Assert.Single(refused) > Max);
    }

    [Fact]
    public void ALengthOfMoreThanFourBytes_IsRefused()
    {
        var guard = new PacketSizeGuard(null!, int.MaxValue, _ => { });

        Assert.Throws<IOException>(() => guard.Follow([0x30, 0x80, 0x80, 0x80, 0x80]));
    }

    private static byte[] Packet(byte type, int remaining)
    {
        var bytes = new List<byte> { type };
        var left = remaining;
        do
        {
            var b = (byte)(left % 128);
            left /= 128;
            bytes.Add(left > 0 ? (byte)(b | 0x80) : b);
        }
        while (left > 0);

        bytes.AddRange(new byte[remaining]);
        return [.. bytes];
    }

    private static int LengthBytes(int remaining) => remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
}
