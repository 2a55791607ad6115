using System.Globalization;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The size of one core's L2 cache, which decides whether a GEMM prefetches B (<see cref="CachePrefetch"/>): read once
/// from Linux's <c>/sys/devices/system/cpu/cpu0/cache</c>, 1 MiB where that is not available (Zen 3 has 512 KiB,
/// Ice Lake server 1.25 MiB, Zen 5 1 MiB, Sapphire Rapids 2 MiB).
/// </summary>
internal static class CacheSizes
{
    public const long FallbackL2Bytes = 1L << 20;

    /// <summary>Bytes of L2 per core.</summary>
    public static long L2Bytes { get; } = DetectL2() ?? FallbackL2Bytes;

    private static long? DetectL2()
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return null;
            foreach (var index in Directory.EnumerateDirectories(root, "index*"))
            {
                if (File.ReadAllText(Path.Combine(index, "level")).Trim() != "2") continue;
                if (File.ReadAllText(Path.Combine(index, "type")).Trim() is not ("Unified" or "Data")) continue;
                return ParseSize(File.ReadAllText(Path.Combine(index, "size")));
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>"1280K", "2M" or a byte count, as sysfs writes cache sizes; null for anything else.</summary>
    internal static long? ParseSize(string text)
    {
        text = text.Trim();
        long unit = text.EndsWith('K') ? 1L << 10 : text.EndsWith('M') ? 1L << 20 : 1;
        if (unit != 1) text = text[..^1];
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value > 0 ? value * unit : null;
    }
}
