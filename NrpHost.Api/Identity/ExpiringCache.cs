using System.Collections.Concurrent;

namespace NrpHost.Api.Identity;

/// <summary>
/// A small thread-safe cache whose entries expire after a fixed time (on <see cref="TimeProvider"/>'s clock) and
/// whose size is bounded, so a stream of unknown tokens cannot grow it without limit.
/// </summary>
internal sealed class ExpiringCache<TKey, TValue>(TimeProvider time, TimeSpan lifetime, int capacity = 4096)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();

    public bool TryGet(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (time.GetTimestamp() < entry.ExpiresAt)
            {
                value = entry.Value;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        }

        value = default!;
        return false;
    }

    public void Set(TKey key, TValue value)
    {
        if (lifetime <= TimeSpan.Zero)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (_entries.Count >= capacity)
        {
            foreach (var (oldKey, old) in _entries)
            {
                if (old.ExpiresAt <= now)
                {
                    _entries.TryRemove(oldKey, out _);
                }
            }

            if (_entries.Count >= capacity)
            {
                _entries.Clear();
            }
        }

        _entries[key] = new Entry(value, now + (long)(lifetime.TotalSeconds * time.TimestampFrequency));
    }

    private readonly record struct Entry(TValue Value, long ExpiresAt);
}
