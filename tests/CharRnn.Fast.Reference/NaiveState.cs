namespace CharRnn.Fast.Tests.Reference;

/// <summary>
/// The recurrent state of every layer for B streams, in PyTorch's h0 / c0 layout: <see cref="H"/> [L,B,H] and, for
/// LSTM only, the cell state <see cref="C"/> [L,B,H]. Also used for the gradient with respect to the initial state.
/// </summary>
public sealed record NaiveState(double[] H, double[]? C)
{
    public static NaiveState Zero(NaiveCell cell, int layers, int batch, int hidden)
        => new(new double[layers * batch * hidden], cell == NaiveCell.Lstm ? new double[layers * batch * hidden] : null);

    /// <summary>Uniform in ±<paramref name="scale"/>, h then c.</summary>
    public static NaiveState Random(NaiveCell cell, int layers, int batch, int hidden, Random rng, double scale = 0.5)
    {
        var s = Zero(cell, layers, batch, hidden);
        foreach (var t in s.All) for (int i = 0; i < t.Length; i++) t[i] = (rng.NextDouble() * 2 - 1) * scale;
        return s;
    }

    /// <summary>H, then C when present.</summary>
    public IEnumerable<double[]> All => C is null ? [H] : [H, C];
}
