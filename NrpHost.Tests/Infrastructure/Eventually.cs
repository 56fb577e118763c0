using System.Diagnostics;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// Wakes whoever waits on something a test records (messages, requests, output) each time it changes, so they test their
/// condition again then, not on a timer.
/// </summary>
public sealed class Changes
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Says that something changed.</summary>
    public void Notify() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <paramref name="probe"/> finds something, testing it again on each change; throws <see cref="TimeoutException"/> with <paramref name="failure"/> after <paramref name="within"/>.</summary>
    public async Task<T> WaitAsync<T>(Func<T?> probe, TimeSpan within, Func<string> failure)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var changed = Volatile.Read(ref _next).Task;
            if (probe() is { } found)
            {
                return found;
            }

            var left = within - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(failure());
            }

            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, testing it again on each change.</summary>
    public Task WaitAsync(Func<bool> condition, TimeSpan within, Func<string> failure) =>
        WaitAsync(() => condition() ? string.Empty : null, within, failure);
}

/// <summary>
/// Waits for a condition that raises no event a test could wait on: a process that is gone, a server that starts to
/// listen, a file another process writes, a counter read from the host. It is tested at once, then again after a back-off
/// that grows from 1 ms to 50 ms, until the deadline. Where there is an event (the manager's <c>StateChanged</c>, a log
/// entry, an MQTT message: see <see cref="Changes"/>), tests wait on that instead.
/// </summary>
public static class Eventually
{
    /// <summary>How long a condition is given unless the test says otherwise.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> (evaluated then) after <paramref name="within"/>.</summary>
    public static Task TrueAsync(Func<bool> condition, Func<string> what, TimeSpan? within = null) =>
        ValueAsync(() => Task.FromResult(condition() ? string.Empty : null), what, within);

    /// <inheritdoc cref="TrueAsync(Func{bool}, Func{string}, TimeSpan?)"/>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? within = null) => TrueAsync(condition, () => what, within);

    /// <summary>Waits until <paramref name="condition"/> (which may ask over the network) holds.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? within = null) =>
        ValueAsync(async () => await condition() ? string.Empty : null, what, within);

    /// <summary>
    /// Waits until a server that another process starts answers <c>GET</c> <paramref name="uri"/> with a success code;
    /// fails at once when <paramref name="ended"/> says that process is gone.
    /// </summary>
    public static Task AnswersAsync(HttpClient client, Uri uri, Func<bool> ended, Func<string> what, TimeSpan? within = null) =>
        TrueAsync(
            async () =>
            {
                if (ended())
                {
                    throw new InvalidOperationException("The process ended before it answered: " + what());
                }

                try
                {
                    using var response = await client.GetAsync(uri);
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return false; // not listening yet
                }
            },
            what,
            within);

    /// <summary>Waits until <paramref name="probe"/> finds something, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, Func<string> what, TimeSpan? within = null)
        where T : class
    {
        var deadline = within ?? Patience;
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            if (clock.Elapsed >= deadline)
            {
                throw new TimeoutException($"Not reached within {deadline.TotalSeconds:0.#} s: {what()}");
            }

            await Task.Delay(pause);
            pause = TimeSpan.FromMilliseconds(Math.Min(50, pause.TotalMilliseconds * 2));
        }
    }
}
