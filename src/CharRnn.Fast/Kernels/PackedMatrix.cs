namespace CharRnn.Fast.Kernels;

/// <summary>
/// A GEMM's B operand [K,N] in the layout the GEMM reads best for the rows that multiply it. For several rows (a batch of
/// streams, T·B positions) it is stored in column panels: panel p holds columns [p·W, p·W + W) as a contiguous
/// row-major [K,W] block (zero past N), W being the policy's panel width, the width of its main register tile. A tile
/// then reads its rows of B at unit stride and a K block of a panel is one contiguous run that stays in L1 — in a
/// row-major B whose rows are a power of two apart (H = 256, 512, 1024) every row of a panel falls into the same few
/// cache sets, so the panel is evicted before the next row block reuses it. For a single row (the GEMV of batch-1
/// training and generation) there is no reuse to win and B stays row-major (one panel as wide as N), which the GEMV's
/// wider single-row tiles stream. Packing costs one pass over B.
/// </summary>
internal sealed class PackedMatrix
{
    private readonly AlignedBuffer _data;

    /// <summary>
    /// Room for a [<paramref name="rows"/>, <paramref name="cols"/>] matrix: in <paramref name="policy"/>'s column panels when
    /// <paramref name="panels"/>, else row-major.
    /// </summary>
    public PackedMatrix(KernelPolicy policy, int rows, int cols, bool panels = true)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Policy = policy;
        Rows = rows;
        Cols = cols;
        IsRowMajor = !panels;
        Width = panels ? policy.PanelWidth : Math.Max(1, cols);
        Panels = (cols + Width - 1) / Width;
        _data = new AlignedBuffer(checked(Panels * rows * Width));
    }

    /// <summary>True for the row-major layout (one panel as wide as N, rows N floats apart).</summary>
    public bool IsRowMajor { get; }

    /// <summary>The policy whose panel width this layout uses (a GEMM on another policy rejects it).</summary>
    public KernelPolicy Policy { get; }

    /// <summary>K.</summary>
    public int Rows { get; }

    /// <summary>N.</summary>
    public int Cols { get; }

    /// <summary>Panel width W (floats): the policy's panel width, or N when row-major.</summary>
    public int Width { get; }

    public int Panels { get; }

    /// <summary>Floats from one panel to the next: K·W.</summary>
    public int PanelStride => Rows * Width;

    /// <summary>The panels, one after another.</summary>
    internal Span<float> Data => _data.Span;

    /// <summary>Packs <paramref name="source"/> [K,N] row-major.</summary>
    public void Pack(ReadOnlySpan<float> source) => Pack(source, Rows);

    /// <summary>Packs the first <paramref name="rows"/> rows of <paramref name="source"/> [K,N] row-major (the rest are left as they were).</summary>
    public void Pack(ReadOnlySpan<float> source, int rows)
    {
        if ((uint)rows > (uint)Rows || source.Length < (long)rows * Cols) throw new ArgumentException($"source must hold [{rows},{Cols}] floats");
        PackRows(source, Cols, 0, rows);
    }

    /// <summary>
    /// Packs columns [<paramref name="firstCol"/>, <paramref name="firstCol"/> + N) of <paramref name="source"/> [K, sourceCols]
    /// row-major (one gate block of a wider matrix).
    /// </summary>
    public void PackColumns(ReadOnlySpan<float> source, int sourceCols, int firstCol)
    {
        if (firstCol < 0 || firstCol + Cols > sourceCols || source.Length < (long)Rows * sourceCols) throw new ArgumentException($"source must hold [{Rows},{sourceCols}] floats with columns [{firstCol},{firstCol + Cols}) inside");
        PackRows(source, sourceCols, firstCol, Rows);
    }

    // Rows [0, rows) of columns [firstCol, firstCol + N) of source [K, sourceCols]. Each source row is read once, in order,
    // and its pieces go to the panels (one panel stride apart): reading a panel's column strip row by row instead ran
    // at about half a plain copy's rate.
    private void PackRows(ReadOnlySpan<float> source, int sourceCols, int firstCol, int rows)
    {
        var data = _data.Span;
        int whole = Cols / Width, last = Cols - whole * Width;
        for (int k = 0; k < rows; k++)
        {
            var row = source.Slice(k * sourceCols + firstCol, Cols);
            if (whole > 0) RowKernels.CopyBlock(Policy, data.Slice(k * Width), PanelStride, row, Width, whole, Width);
            if (last > 0) row.Slice(whole * Width).CopyTo(data.Slice(whole * PanelStride + k * Width, last));
        }
    }

    /// <summary>Packs Sᵀ for <paramref name="source"/> S [N,K] row-major: B(k,j) = S(j,k) (Whh packed as Whhᵀ without a separate transpose).</summary>
    public void PackTransposeOf(ReadOnlySpan<float> source)
    {
        if (source.Length < (long)Rows * Cols) throw new ArgumentException($"source must hold [{Cols},{Rows}] floats");
        var data = _data.Span;
        for (int p = 0; p < Panels; p++)
        {
            int first = p * Width, width = Math.Min(Width, Cols - first);
            // panel [K, W] = transpose of source rows [first, first + width) × K columns
            RowKernels.Transpose(Policy, data.Slice(p * PanelStride, PanelStride), Width, source.Slice(first * Rows, width * Rows), width, Rows);
        }
    }

    /// <summary>The packed value at (k, j) (tests).</summary>
    internal float this[int k, int j] => _data.Span[j / Width * PanelStride + k * Width + j % Width];

    /// <summary>Rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <paramref name="rows"/>) as a GEMM operand (all rows from <paramref name="firstRow"/> when <paramref name="rows"/> is −1).</summary>
    internal PanelView View(int firstRow = 0, int rows = -1)
    {
        if (rows < 0) rows = Rows - firstRow;
        if (firstRow < 0 || rows < 0 || firstRow + rows > Rows) throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow},{firstRow + rows}) are not within the packed matrix's {Rows}");
        var data = _data.Span.Slice(firstRow * Width);
        return IsRowMajor ? new PanelView(data, rows, Cols, Width, 0, null) : new PanelView(data, rows, Cols, Width, PanelStride, Policy);
    }
}
