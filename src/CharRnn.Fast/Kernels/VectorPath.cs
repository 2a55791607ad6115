namespace CharRnn.Fast.Kernels;

/// <summary>The vector widths the kernels can run at; the value is the width in bits (0 = scalar).</summary>
public enum VectorPath
{
    Scalar = 0,
    V128 = 128,
    V256 = 256,
    V512 = 512,
}

/// <summary>Names of vector widths. Which width runs is a <see cref="KernelPolicy"/>'s choice.</summary>
public static class VectorPaths
{
    /// <summary>A short human name: "512-bit", "256-bit", "128-bit", "scalar".</summary>
    public static string Describe(VectorPath path) => path switch
    {
        VectorPath.V512 => "512-bit",
        VectorPath.V256 => "256-bit",
        VectorPath.V128 => "128-bit",
        _ => "scalar",
    };

    /// <summary>Parses "512", "256", "128", "scalar" (also "v512", "avx512", "avx2", "sse", "neon" ...).</summary>
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
}
