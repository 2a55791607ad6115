namespace CharRnn.Fast.Kernels;

/// <summary>
/// bfloat16: the upper 16 bits of a float (sign, the same 8 exponent bits, 7 mantissa bits), so it spans float's range
/// with 8 significant bits (relative rounding error at most 2⁻⁸). Widening back to float is exact: a shift left by 16,
/// which the kernels do in registers.
/// </summary>
internal static class BFloat16
{
    /// <summary>
    /// <paramref name="value"/> rounded to the nearest bfloat16, ties to even (the IEEE default). ±∞ and ±0 stay as they
    /// are, NaN stays NaN (quiet), and finite values beyond bfloat16's largest round to ±∞ as IEEE rounding requires.
    /// </summary>
    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040); // keep the sign, force a quiet-NaN mantissa bit
        // adding 0x7FFF rounds the discarded half up when it is above 0x8000; the kept part's last bit breaks the tie
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>The float with the same value (exact).</summary>
    public static float Widen(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);
}
