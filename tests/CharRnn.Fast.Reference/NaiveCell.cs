namespace CharRnn.Fast.Tests.Reference;

/// <summary>The recurrent cell of every layer, as torch.nn.RNN / LSTM / GRU.</summary>
public enum NaiveCell
{
    /// <summary>h = act(W_ih·x + b_ih + W_hh·h + b_hh), act = tanh or relu.</summary>
    Rnn,

    /// <summary>Gates i, f, g, o; c = f⊙c + i⊙g, h = o⊙tanh(c).</summary>
    Lstm,

    /// <summary>Gates r, z, n; n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)), h = (1−z)⊙n + z⊙h.</summary>
    Gru,
}

public static class NaiveCells
{
    /// <summary>G, the gate blocks of H rows in weight_ih / weight_hh: 1, 4, 3.</summary>
    public static int Gates(this NaiveCell cell) => cell switch
    {
        NaiveCell.Rnn => 1,
        NaiveCell.Lstm => 4,
        NaiveCell.Gru => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, null),
    };

    /// <summary>The name used by the checkpoint metadata and the CLI: rnn, lstm, gru.</summary>
    public static string Name(this NaiveCell cell) => cell.ToString().ToLowerInvariant();

    /// <summary>
    /// Whether bias_hh[row] may be folded into bias_ih[row] without changing the model: every row but GRU's n rows
    /// (b_hn sits inside r ⊙ (…), so it is not a plain sum with b_in).
    /// </summary>
    public static bool BiasFolds(this NaiveCell cell, int row, int hidden) => !(cell == NaiveCell.Gru && row >= 2 * hidden);
}
