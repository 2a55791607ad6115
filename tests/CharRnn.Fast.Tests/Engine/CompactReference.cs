using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// The reference side of compact weights, from their definitions: the weights a bf16 or int8 model multiplies by
/// (dequantized, in double) and int8's rounding of a product's input vector. Computed from the float values the engine
/// receives (<see cref="ReferenceMapping.ToEngine(NaiveStackedRnn)"/> casts the reference's doubles to float).
/// </summary>
internal static class CompactReference
{
    /// <summary>
    /// <paramref name="reference"/> with the matrices generation streams (every weight_hh, weight_ih above layer 0,
    /// fc.weight) replaced by the values <paramref name="format"/> holds: bf16 rounds each float to nearest even; int8
    /// rounds each row r (one output unit) to q·s_r, s_r = max|row| / 127, q = round(w / s_r) ties to even.
    /// </summary>
    public static NaiveStackedRnn Dequantized(NaiveStackedRnn reference, WeightFormat format)
    {
        var copy = reference.Clone();
        for (int l = 0; l < copy.Layers; l++)
        {
            var layer = copy.P.Layers[l];
            RoundRows(layer.WeightHh, layer.Rows, layer.Hidden, format);
            if (l > 0) RoundRows(layer.WeightIh, layer.Rows, layer.Inputs, format);
        }
        RoundRows(copy.P.FcWeight, copy.O, copy.H, format);
        return copy;
    }

    private static void RoundRows(double[] w, int rows, int cols, WeightFormat format)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = w.AsSpan(r * cols, cols);
            if (format == WeightFormat.Bf16)
            {
                for (int c = 0; c < cols; c++) row[c] = RoundToBf16((float)row[c]);
                continue;
            }
            var floats = new float[cols];
            for (int c = 0; c < cols; c++) floats[c] = (float)row[c];
            Int8(floats).CopyTo(row);
        }
    }

    /// <summary>The nearest bfloat16 (8 significant bits), ties to the even one: the float's top 16 bits after rounding the low 16.</summary>
    public static double RoundToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value), low = bits & 0xFFFF, high = bits & 0xFFFF0000u;
        if (low > 0x8000 || (low == 0x8000 && (high & 0x10000) != 0)) high += 0x10000;
        return BitConverter.UInt32BitsToSingle(high);
    }

    /// <summary>
    /// A vector as int8 holds it: s·q with s = max|v| / 127 and q = round(v / s) ties to even (in float, as the format
    /// defines it), in [−127, 127]; all zeros when max|v| is 0.
    /// </summary>
    public static double[] Int8(ReadOnlySpan<float> v)
    {
        float max = 0;
        foreach (float x in v) max = Math.Max(max, Math.Abs(x));
        float s = max / 127f;
        var result = new double[v.Length];
        if (s == 0) return result;
        for (int i = 0; i < v.Length; i++) result[i] = (double)s * Math.Clamp(MathF.Round(v[i] / s, MidpointRounding.ToEven), -127f, 127f);
        return result;
    }
}
