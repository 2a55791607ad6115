using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The rows of x [M,K] of a <see cref="CompactGemv"/> product, prepared once per call in a buffer allocated once: for
/// int8, each row quantized dynamically (s_x = max|x_row| / 127, q = round(x / s_x), see <see cref="Int8Quantization"/>)
/// into groups of 4 bytes; for bf16, the floats themselves, each row padded to whole pairs. The padding past K is zero.
/// One per thread: threads that split a product's columns each prepare the same x into their own.
/// </summary>
internal sealed class CompactActivations
{
    private readonly AlignedBuffer _data;   // [MaxRows, Groups] groups of 4 bytes (int8) or 8 (bf16: 2 floats)
    private readonly float[] _scales;       // [MaxRows] int8 row scales

    /// <summary>Room for up to <paramref name="maxRows"/> rows of <paramref name="columns"/> (K) activations.</summary>
    public CompactActivations(WeightFormat format, int maxRows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (format is not (WeightFormat.Bf16 or WeightFormat.Int8)) throw new ArgumentOutOfRangeException(nameof(format), format, "compact weights are bf16 or int8");
        Format = format;
        MaxRows = maxRows;
        Columns = columns;
        Groups = format == WeightFormat.Int8 ? (columns + 3) / 4 : (columns + 1) / 2;
        RowBytes = Groups * (format == WeightFormat.Int8 ? 4 : 8);
        _data = new AlignedBuffer(checked(maxRows * RowBytes / sizeof(float)));
        _scales = new float[maxRows];
    }

    public WeightFormat Format { get; }

    public int MaxRows { get; }

    /// <summary>K.</summary>
    public int Columns { get; }

    /// <summary>Rows prepared by the last <see cref="Prepare"/>.</summary>
    public int Rows { get; private set; }

    /// <summary>Groups of k per row, as in a <see cref="CompactMatrix"/> of the same format.</summary>
    internal int Groups { get; }

    /// <summary>Bytes from one row to the next.</summary>
    internal int RowBytes { get; }

    /// <summary>
    /// Prepares <paramref name="rows"/> rows of <paramref name="x"/> [rows, K] row-major. An int8 row that holds NaN or ±∞
    /// gets the scale NaN, so its outputs are NaN (a float product gives NaN or ±∞); an all-zero row gets the scale 0.
    /// </summary>
    public void Prepare(KernelPolicy policy, ReadOnlySpan<float> x, int rows)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if ((uint)rows > (uint)MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"room for {MaxRows} rows");
        if (x.Length < (long)rows * Columns) throw new ArgumentException($"x holds {x.Length} floats, needs [{rows},{Columns}]", nameof(x));
        Rows = rows;
        var bytes = MemoryMarshal.AsBytes(_data.Span);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * Columns, Columns);
            var target = bytes.Slice(r * RowBytes, RowBytes);
            if (Format == WeightFormat.Bf16)
            {
                row.CopyTo(MemoryMarshal.Cast<byte, float>(target));
                continue;
            }
            var codes = MemoryMarshal.Cast<byte, sbyte>(target);
            _scales[r] = policy.Path switch
            {
                VectorPath.V512 => QuantizeRow<Simd512, Vector512<float>, Int8DotAvx512>(row, codes),
                VectorPath.V256 => QuantizeRow<Simd256, Vector256<float>, Int8DotAvx2>(row, codes),
                VectorPath.V128 => QuantizeRow<Simd128, Vector128<float>, Int8DotPortable128>(row, codes),
                _ => QuantizeRow<SimdScalar, float, Int8DotScalar>(row, codes),
            };
        }
    }

    /// <summary>
    /// codes[0..K) = q of <paramref name="x"/>, returns s_x. Vectors cover K with the last one overlapping the one before
    /// (max and the codes are the same whichever vector computes them); a row shorter than a vector goes one at a time.
    /// Each lane rounds exactly as <see cref="Int8Quantization.Quantize"/> does.
    /// </summary>
    private static float QuantizeRow<TS, TV, TD>(ReadOnlySpan<float> x, Span<sbyte> codes)
        where TS : ISimd<TV> where TV : struct where TD : IInt8Dot<TV>
    {
        int k = x.Length, w = TS.Count;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref sbyte q = ref MemoryMarshal.GetReference(codes);
        float max = 0;
        if (k >= w)
        {
            TV m = TS.Zero;
            for (int i = 0; i < k; i += w)
            {
                TV v = TS.Load(in Unsafe.Add(ref xr, Math.Min(i, k - w)));
                m = TS.Max(m, TS.Max(v, TS.Subtract(TS.Zero, v))); // IEEE max: a NaN stays
            }
            max = TS.MaxAcross(m);
        }
        else
            for (int i = 0; i < k; i++) max = MathF.Max(max, MathF.Abs(Unsafe.Add(ref xr, i)));

        float scale = Int8Quantization.Scale(max);
        if (scale == 0 || !float.IsFinite(scale))
        {
            codes.Slice(0, k).Clear();
            return scale == 0 ? 0 : float.NaN;
        }
        if (k >= w)
        {
            TV s = TS.Create(scale), lo = TS.Create(-Int8Quantization.Levels), hi = TS.Create(Int8Quantization.Levels);
            for (int i = 0; i < k; i += w)
            {
                int at = Math.Min(i, k - w);
                TD.StoreInt8(TS.Clamp(TS.Round(TS.Divide(TS.Load(in Unsafe.Add(ref xr, at)), s)), lo, hi), ref Unsafe.Add(ref q, at));
            }
        }
        else
            for (int i = 0; i < k; i++) Unsafe.Add(ref q, i) = Int8Quantization.Quantize(Unsafe.Add(ref xr, i), scale);
        return scale;
    }

    /// <summary>Row r's int8 scale s_x.</summary>
    internal float Scale(int row) => _scales[row];

    /// <summary>The stored code of x(r,k): the int8 value (tests).</summary>
    internal int Code(int row, int k) => (sbyte)MemoryMarshal.AsBytes(_data.Span)[row * RowBytes + k];

    /// <summary>x(r,k) as the kernels multiply it, exact in double: s_x·q, or the float itself.</summary>
    internal double Value(int row, int k) => Format == WeightFormat.Int8
        ? (double)_scales[row] * Code(row, k)
        : MemoryMarshal.Cast<byte, float>(MemoryMarshal.AsBytes(_data.Span).Slice(row * RowBytes))[k];

    /// <summary>Row 0's first group; rows are <see cref="RowBytes"/> apart.</summary>
    internal ref byte Data => ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(_data.Span));

    /// <summary>Row 0's scale.</summary>
    internal ref float Scales => ref MemoryMarshal.GetArrayDataReference(_scales);
}
