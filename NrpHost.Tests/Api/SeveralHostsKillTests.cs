using System.Diagnostics;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>One host of the README's several-hosts deployment (<see cref="HostGroup"/>) dies with <c>kill -9</c>.</summary>
[Collection(SeveralHostsCollection.Name)]
public sealed class SeveralHostsKillTests(LocalHostGroup group) : IClassFixture<LocalHostGroup>
{
    [Fact]
    public async Task KillingOneHost_LeavesTheOtherTwoPublishingEverySecond()
    {
        var hosts = group.Hosts;
        Assert.Equal(3, hosts.Count);
        await using var frontend = await group.SubscribeLikeTheFrontendAsync();
        var created = await group.CreateOnEveryHostAsync();
        var topics = created.Select(c => HostGroup.StatusTopic(c.GetProperty("MQTTPrefix").GetString()!, c.GetProperty("simulationID").GetInt32())).ToArray();
        for (var i = 0; i < 3; i++)
        {
            var id = created[i].GetProperty("simulationID").GetInt32();
            Assert.Equal("started", await group.PutStateAsync(hosts[i], id, "started"));
            await frontend.WaitForAsync(topics[i], m => m.State == "started");
        }

        var victim = hosts[1];
        using (var process = Process.GetProcessById(victim.Pid))
        {
            process.Kill(); // SIGKILL
        }

        Assert.Equal(137, await group.WaitForExitReportAsync(victim.Index));
        await Assert.ThrowsAsync<HttpRequestException>(() => group.PollAsync(victim)); // the proxy's next poll finds no backend

        // From the first tick after the kill on, each of the other two publishes a status every second, its clock moving.
        var killed = frontend.LastSequence;
        var mark = killed;
        foreach (var i in new[] { 0, 2 })
        {
            mark = Math.Max(mark, (await frontend.WaitForAsync(topics[i], m => m.State == "started", killed)).Sequence);
        }

        foreach (var i in new[] { 0, 2 })
        {
            var after = mark;
            var realTime = -1.0;
            for (var tick = 0; tick < 3; tick++)
            {
                var message = await frontend.WaitForAsync(
                    topics[i], m => m.State == "started" && m.Json.GetProperty("realTime").GetDouble() > realTime, after, TimeSpan.FromSeconds(10));
                realTime = message.Json.GetProperty("realTime").GetDouble();
                after = message.Sequence;
            }

            Assert.Equal("started", Assert.Single((await group.PollAsync(hosts[i])).EnumerateArray()).GetProperty("state").GetString());
        }

        Assert.DoesNotContain(frontend.Messages, m => m.Sequence > mark && m.Topic == topics[1]);
    }
}
