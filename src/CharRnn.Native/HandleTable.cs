using System.Collections.Concurrent;

namespace CharRnn.Native;

/// <summary>
/// Maps the opaque handles C callers hold to managed objects. Ids are never reused, so a freed, forged or stale handle is
/// reported as invalid instead of touching freed memory. Lookups are lock-free.
/// </summary>
internal static class HandleTable
{
    private static readonly ConcurrentDictionary<nint, object> Objects = new();
    private static long _next;

    public static nint Add(object value)
    {
        nint id = (nint)Interlocked.Increment(ref _next);
        Objects[id] = value;
        return id;
    }

    public static bool TryGet<T>(nint id, out T value) where T : class
    {
        if (Objects.TryGetValue(id, out var o) && o is T t) { value = t; return true; }
        value = null!;
        return false;
    }

    public static bool Remove<T>(nint id) where T : class
    {
        if (!Objects.TryGetValue(id, out var o) || o is not T || !Objects.TryRemove(id, out _)) return false;
        (o as IDisposable)?.Dispose();
        return true;
    }
}
