using System.Runtime.InteropServices;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The B operand [K,N] of generation's GEMVs (B = Wᵀ, one column per output unit) in a compact format, for
/// <see cref="CompactGemv"/>: <see cref="WeightFormat.Bf16"/> (2 bytes a weight, no scales) or
/// <see cref="WeightFormat.Int8"/> (1 byte a weight, one symmetric scale per column of B: per output unit, a row of W).
/// K is cut into groups (4 k for int8, 2 for bf16) so every column holds 4 bytes per group: group g is one row of
/// 4-byte cells, cell j holding column j's weights for k = 4g..4g+3 (int8) or 2g, 2g+1 (bf16, the even k in the low
/// half), zero past K. A vector of cells is then one group of consecutive columns, which an int8 dot instruction
/// (vpmaddubsw + vpmaddwd, vpdpbusd) or a bf16 widening (shift or mask, then FMA) consumes whole, against one row's
/// activations for the group broadcast to every lane. Group rows are padded to a multiple of 16 columns (64
/// bytes) and start on a cache line; one vector of zeros follows the last, so the last partial vector of any column range
/// can be read whole. int8 scales are f32 per column: s_j = max_k |B(k,j)| / 127.
/// </summary>
internal sealed class CompactMatrix
{
    /// <summary>Cells (4 bytes) past the last group and past the last column scale: one 512-bit vector.</summary>
    private const int Slack = 16;

    private readonly AlignedBuffer _cells;  // [Groups, Stride] 4-byte cells, then Slack
    private readonly AlignedBuffer _scales; // int8: [Stride + Slack], zero past N; bf16: empty

    /// <summary>The deepest int8 product whose integer sums cannot overflow: K·127² &lt; 2³¹.</summary>
    public const int MaxInt8Rows = int.MaxValue / (127 * 127);

    /// <summary>Room for a [<paramref name="rows"/>, <paramref name="cols"/>] matrix, all zero.</summary>
    public CompactMatrix(WeightFormat format, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (format is not (WeightFormat.Bf16 or WeightFormat.Int8)) throw new ArgumentOutOfRangeException(nameof(format), format, "compact weights are bf16 or int8");
        if (format == WeightFormat.Int8 && rows > MaxInt8Rows)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"int8 sums overflow beyond K = {MaxInt8Rows}");
        Format = format;
        Rows = rows;
        Cols = cols;
        KPerGroup = format == WeightFormat.Int8 ? 4 : 2;
        Groups = (rows + KPerGroup - 1) / KPerGroup;
        Stride = (cols + Slack - 1) / Slack * Slack;
        _cells = new AlignedBuffer(checked(Groups * Stride + Slack));
        _scales = new AlignedBuffer(format == WeightFormat.Int8 ? Stride + Slack : 0);
    }

    public WeightFormat Format { get; }

    /// <summary>K.</summary>
    public int Rows { get; }

    /// <summary>N.</summary>
    public int Cols { get; }

    /// <summary>Bytes a product over every column reads: the cells of K groups × N, and int8's scales.</summary>
    public long StoredBytes => (long)Groups * Cols * sizeof(int) + (Format == WeightFormat.Int8 ? (long)Cols * sizeof(float) : 0);

    /// <summary>Weights per cell: 4 (int8) or 2 (bf16).</summary>
    internal int KPerGroup { get; }

    /// <summary>Groups of k: ⌈K / <see cref="KPerGroup"/>⌉.</summary>
    internal int Groups { get; }

    /// <summary>Cells per group row: N rounded up to a multiple of 16.</summary>
    internal int Stride { get; }

    /// <summary>Packs <paramref name="source"/> B [K,N] row-major.</summary>
    public void Pack(ReadOnlySpan<float> source) => Fill(source, Cols, 1);

    /// <summary>Packs Sᵀ for <paramref name="source"/> S [N,K] row-major: B(k,j) = S(j,k) (W_hh [G·H,H] packed as W_hhᵀ; one scale per row of S).</summary>
    public void PackTransposeOf(ReadOnlySpan<float> source) => Fill(source, 1, Rows);

    /// <summary>B(k,j) = source[k·<paramref name="kStride"/> + j·<paramref name="jStride"/>], column by column (an int8 column's scale needs all of it first).</summary>
    private void Fill(ReadOnlySpan<float> source, int kStride, int jStride)
    {
        if (source.Length < (long)Rows * Cols) throw new ArgumentException($"source must hold {Rows}×{Cols} floats", nameof(source));
        var bytes = MemoryMarshal.AsBytes(_cells.Span);
        var scales = _scales.Span;
        for (int j = 0; j < Cols; j++)
        {
            if (Format == WeightFormat.Bf16)
            {
                for (int k = 0; k < Rows; k++)
                    MemoryMarshal.Write(bytes.Slice(CellByte(k, j)), BFloat16.Round(source[k * kStride + j * jStride]));
                continue;
            }
            float max = 0;
            for (int k = 0; k < Rows; k++)
            {
                float v = source[k * kStride + j * jStride];
                if (!float.IsFinite(v)) throw new ArgumentException($"weight ({k},{j}) is {v}: int8 weights must be finite", nameof(source));
                max = MathF.Max(max, MathF.Abs(v));
            }
            float scale = scales[j] = Int8Quantization.Scale(max);
            for (int k = 0; k < Rows; k++)
                bytes[CellByte(k, j)] = (byte)Int8Quantization.Quantize(source[k * kStride + j * jStride], scale);
        }
    }

    /// <summary>The byte of B(k,j): its cell's, plus its place in the cell (1 byte a weight for int8, 2 for bf16).</summary>
    private int CellByte(int k, int j) => ((k / KPerGroup) * Stride + j) * 4 + k % KPerGroup * (4 / KPerGroup);

    /// <summary>The stored code of B(k,j): the int8 value, or the bf16 bits (tests).</summary>
    internal int Code(int k, int j)
    {
        var bytes = MemoryMarshal.AsBytes(_cells.Span);
        return Format == WeightFormat.Int8 ? (sbyte)bytes[CellByte(k, j)] : MemoryMarshal.Read<ushort>(bytes.Slice(CellByte(k, j)));
    }

    /// <summary>Column j's int8 scale s_j.</summary>
    internal float Scale(int j) => Format == WeightFormat.Int8 ? _scales.Span[j] : throw new InvalidOperationException("bf16 weights have no scales");

    /// <summary>The weight the kernels multiply by, B(k,j) dequantized (exact in double): s_j·q or the bf16 value.</summary>
    internal double Value(int k, int j) => Format == WeightFormat.Int8 ? (double)_scales.Span[j] * Code(k, j) : BFloat16.Widen((ushort)Code(k, j));

    /// <summary>Group 0's cell of column 0; group rows are <see cref="Stride"/>·4 bytes apart.</summary>
    internal ref byte Cells => ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(_cells.Span));

    /// <summary>Column 0's scale (int8; past N the scales are zero).</summary>
    internal ref float Scales => ref MemoryMarshal.GetReference(_scales.Span);
}
