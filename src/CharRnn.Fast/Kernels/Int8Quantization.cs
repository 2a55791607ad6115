namespace CharRnn.Fast.Kernels;

/// <summary>
/// Symmetric int8 quantization, one scale per vector (a row of x, a column of B = a row of W): s = max|v| / 127 and
/// q = round(v / s), ties to even, so v ≈ s·q with |v − s·q| ≤ s/2, q in [−127, 127] (−128 is never used, which keeps
/// the kernels' 16-bit pair sums from saturating). An all-zero vector has s = 0 and every q = 0.
/// </summary>
internal static class Int8Quantization
{
    /// <summary>The largest code: 127.</summary>
    public const float Levels = 127f;

    /// <summary>s for a vector whose largest magnitude is <paramref name="maxAbs"/>.</summary>
    public static float Scale(float maxAbs) => maxAbs / Levels;

    /// <summary>round(<paramref name="value"/> / <paramref name="scale"/>) clamped to ±127; 0 when the scale is 0 (an all-zero vector, or one too small for a scale above 0).</summary>
    public static sbyte Quantize(float value, float scale) => scale == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(value / scale), -Levels, Levels);
}
