using System.Globalization;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The sizes of one core's L1 data and L2 caches, which decide whether a GEMM prefetches B (<see cref="CachePrefetch"/>)
/// and how many rows of A it keeps in L1 at a time (<see cref="Gemm"/>'s row groups): read once from Linux's
/// <c>/sys/devices/system/cpu/cpu0/cache</c>, 32 KiB and 1 MiB where that is not available (L1d: 32 KiB on Zen 3,
/// 48 KiB on Ice Lake server, Zen 5 and Sapphire Rapids; L2: Zen 3 512 KiB, Ice Lake server 1.25 MiB, Zen 5 1 MiB,
/// Sapphire Rapids 2 MiB).
/// </summary>
internal static class CacheSizes
{
    public const long FallbackL1Bytes = 32L << 10;
    public const long FallbackL2Bytes = 1L << 20;

    /// <summary>Bytes of L1 data cache per core.</summary>
    public static long L1Bytes { get; } = Detect(level: 1) ?? FallbackL1Bytes;

    /// <summary>Bytes of L2 per core.</summary>
    public static long L2Bytes { get; } = Detect(level: 2) ?? FallbackL2Bytes;

    /// <summary>The data (or unified) cache of <paramref name="level"/>, as sysfs reports it for cpu0; null if it does not.</summary>
    private static long? Detect(int level)
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return null;
            foreach (var index in Directory.EnumerateDirectories(root, "index*"))
            {
                if (File.ReadAllText(Path.Combine(index, "level")).Trim() != level.ToString(CultureInfo.InvariantCulture)) continue;
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
