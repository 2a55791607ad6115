namespace CharRnn.Fast.Kernels;

/// <summary>
/// A read-only [Rows, Cols] matrix seen through strides: element (i, k) is <c>Data[i·RowStride + k·ColStride]</c>. The
/// GEMM's A operand: the same kernel then computes A·B (A row-major) and Aᵀ·B (A stored transposed) without a copy.
/// </summary>
internal readonly ref struct StridedMatrix
{
    public StridedMatrix(ReadOnlySpan<float> data, int rows, int cols, int rowStride, int colStride)
    {
        Data = data;
        Rows = rows;
        Cols = cols;
        RowStride = rowStride;
        ColStride = colStride;
    }

    public ReadOnlySpan<float> Data { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int RowStride { get; }
    public int ColStride { get; }

    /// <summary>A row-major [rows, cols] matrix.</summary>
    public static StridedMatrix RowMajor(ReadOnlySpan<float> data, int rows, int cols) => new(data, rows, cols, cols, 1);

    /// <summary>The [rows, cols] transpose of a row-major [cols, rows] matrix.</summary>
    public static StridedMatrix TransposeOf(ReadOnlySpan<float> data, int rows, int cols) => new(data, rows, cols, 1, rows);
}
