namespace CharRnn.Fast.Model;

/// <summary>The recurrent cell of every layer, with PyTorch's equations and gate order.</summary>
public enum CellKind
{
    /// <summary>Elman: h = act(W_ih·x + W_hh·h + b), act tanh or relu. One gate.</summary>
    Rnn,

    /// <summary>LSTM, gates i, f, g, o: c = f⊙c + i⊙g, h = o⊙tanh(c).</summary>
    Lstm,

    /// <summary>GRU, gates r, z, n: n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)), h = (1−z)⊙n + z⊙h.</summary>
    Gru,
}

/// <summary>Facts about each cell kind.</summary>
public static class CellKinds
{
    /// <summary>G: gate blocks of H rows in the weight matrices (1, 4, 3).</summary>
    public static int Gates(this CellKind cell) => cell switch
    {
        CellKind.Lstm => 4,
        CellKind.Gru => 3,
        _ => 1,
    };

    /// <summary>True when the cell carries a memory c besides h (LSTM).</summary>
    public static bool HasCellState(this CellKind cell) => cell == CellKind.Lstm;

    /// <summary>The name in files and on the command line: <c>rnn</c>, <c>lstm</c>, <c>gru</c>.</summary>
    public static string Name(this CellKind cell) => cell switch
    {
        CellKind.Lstm => "lstm",
        CellKind.Gru => "gru",
        _ => "rnn",
    };

    /// <summary>Parses <c>rnn</c>, <c>lstm</c>, <c>gru</c>.</summary>
    public static bool TryParse(string? text, out CellKind cell)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "rnn": cell = CellKind.Rnn; return true;
            case "lstm": cell = CellKind.Lstm; return true;
            case "gru": cell = CellKind.Gru; return true;
            default: cell = CellKind.Rnn; return false;
        }
    }
}
