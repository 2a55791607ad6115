using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>The instruction-set paths the kernels can run on; the value is the vector width in bits (0 = scalar).</summary>
public enum VectorPath
{
    Scalar = 0,
    V128 = 128,
    V256 = 256,
    V512 = 512,
}

/// <summary>
/// Chooses the vector width every kernel runs at. The widest accelerated path is the default; the environment
/// variable <c>CHARRNN_ISA</c> (<c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c>) or <see cref="Use"/> forces a
/// narrower one so tests and benchmarks can exercise every path on one machine.
/// </summary>
public static class VectorPaths
{
    /// <summary>Name of the environment variable read once at start-up.</summary>
    public const string EnvironmentVariable = "CHARRNN_ISA";

    /// <summary>Every path this CPU accelerates, widest first; <see cref="VectorPath.Scalar"/> is always last.</summary>
    public static IReadOnlyList<VectorPath> Available { get; } = DetectAvailable();

    /// <summary>The widest path this CPU accelerates.</summary>
    public static VectorPath Best => Available[0];

    /// <summary>The path the kernels use now. Changing it between kernel calls is safe; during a call it is not.</summary>
    public static VectorPath Active { get; private set; } = FromEnvironment();

    /// <summary>Forces <paramref name="path"/>; throws when this CPU does not accelerate it.</summary>
    public static void Use(VectorPath path)
    {
        if (!Available.Contains(path))
            throw new NotSupportedException($"vector path {Describe(path)} is not accelerated on this CPU; available: {string.Join(", ", Available.Select(Describe))}");
        Active = path;
    }

    /// <summary>A short human name: "AVX-512 (512-bit)", "256-bit", "128-bit", "scalar".</summary>
    public static string Describe(VectorPath path) => path switch
    {
        VectorPath.V512 => "512-bit",
        VectorPath.V256 => "256-bit",
        VectorPath.V128 => "128-bit",
        _ => "scalar",
    };

    /// <summary>Parses "512", "256", "128", "scalar" (also "v512", "avx512", "avx2", "sse" ...).</summary>
    public static bool TryParse(string? text, out VectorPath path)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "512": case "V512": case "AVX512": case "AVX-512": path = VectorPath.V512; return true;
            case "256": case "V256": case "AVX2": case "AVX": path = VectorPath.V256; return true;
            case "128": case "V128": case "SSE": case "NEON": path = VectorPath.V128; return true;
            case "0": case "SCALAR": case "NONE": path = VectorPath.Scalar; return true;
            default: path = VectorPath.Scalar; return false;
        }
    }

    private static List<VectorPath> DetectAvailable()
    {
        var paths = new List<VectorPath>();
        if (Vector512.IsHardwareAccelerated) paths.Add(VectorPath.V512);
        if (Vector256.IsHardwareAccelerated) paths.Add(VectorPath.V256);
        if (Vector128.IsHardwareAccelerated) paths.Add(VectorPath.V128);
        paths.Add(VectorPath.Scalar);
        return paths;
    }

    private static VectorPath FromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return Best;
        if (!TryParse(text, out var path))
            throw new InvalidOperationException($"{EnvironmentVariable}='{text}' is not a vector path; use 512, 256, 128 or scalar");
        // A path the CPU lacks falls back to the widest one below it, so one CI script runs everywhere.
        foreach (var p in Available)
            if (p <= path) return p;
        return VectorPath.Scalar;
    }
}
