namespace CharRnn.Fast.Kernels;

/// <summary>
/// A GEMM's B operand [Rows, Cols]: a row-major matrix (one panel as wide as the matrix, rows <see cref="Cols"/> floats
/// apart), or rows of a <see cref="PackedMatrix"/> (panels of <see cref="Width"/> columns, <see cref="PanelStride"/>
/// floats apart). A row-major view reads the caller's floats where they are, so weights a single row multiplies
/// (batch-1 training, generation) need no copy.
/// </summary>
internal readonly ref struct PanelView
{
    internal PanelView(ReadOnlySpan<float> data, int rows, int cols, int width, int panelStride, KernelPolicy? policy)
    {
        Data = data;
        Rows = rows;
        Cols = cols;
        Width = width;
        PanelStride = panelStride;
        Policy = policy;
    }

    /// <summary>From B(0,0): the rest of the storage (every panel's rows from the first row of the view on).</summary>
    public ReadOnlySpan<float> Data { get; }

    /// <summary>K.</summary>
    public int Rows { get; }

    /// <summary>N.</summary>
    public int Cols { get; }

    /// <summary>Columns per panel (N when row-major).</summary>
    public int Width { get; }

    /// <summary>Floats from one panel to the next; 0 when row-major.</summary>
    public int PanelStride { get; }

    /// <summary>The policy whose panel width a packed view uses; null for a row-major view, which any policy reads.</summary>
    public KernelPolicy? Policy { get; }

    public bool IsRowMajor => PanelStride == 0;

    /// <summary>A row-major [rows, cols] matrix.</summary>
    public static PanelView RowMajor(ReadOnlySpan<float> data, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || data.Length < (long)rows * cols) throw new ArgumentException($"B holds {data.Length} floats, needs [{rows},{cols}]", nameof(data));
        return new PanelView(data, rows, cols, Math.Max(1, cols), 0, null);
    }
}
