namespace CharRnn.Fast.Tests.Reference;

/// <summary>
/// Dropout masks as PyTorch's <c>dropout</c> argument of nn.RNN/LSTM/GRU uses them: on the output of every layer but the
/// last, training only, inverted scaling (a kept unit is multiplied by 1/(1−p), so evaluation needs no mask).
/// A mask is [L−1,T,B,H]: mask[l,t,b,j] multiplies h^l_t[b,j] where it enters layer l+1 (the recurrent state itself is
/// not dropped). Its values are 0 or 1/(1−p).
/// </summary>
public static class NaiveDropout
{
    /// <summary>A seeded mask: each unit dropped with probability <paramref name="p"/> (p = 1 drops all, as PyTorch).</summary>
    public static double[] Mask(Random rng, int layers, int steps, int batch, int hidden, double p)
    {
        if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1]");
        var mask = new double[Math.Max(0, layers - 1) * steps * batch * hidden];
        for (int i = 0; i < mask.Length; i++) mask[i] = p < 1 && rng.NextDouble() >= p ? 1 / (1 - p) : 0;
        return mask;
    }

    /// <summary>The mask for kept units <paramref name="keep"/> [L−1,T,B,H] at rate <paramref name="p"/> (an engine's bit mask).</summary>
    public static double[] FromKeep(IReadOnlyList<bool> keep, double p)
        => keep.Select(k => k ? 1 / (1 - p) : 0).ToArray();
}
