namespace CharRnn.Fast.Tests.Reference;

/// <summary>One layer's tensors in PyTorch's layout: gate blocks of H rows stacked in the cell's gate order.</summary>
public sealed class NaiveLayerTensors(int gates, int inputs, int hidden)
{
    public int Inputs { get; } = inputs;
    public int Hidden { get; } = hidden;

    /// <summary>G·H, the rows of every tensor of the layer.</summary>
    public int Rows { get; } = gates * hidden;

    public double[] WeightIh { get; } = new double[gates * hidden * inputs];   // [G·H, in]
    public double[] WeightHh { get; } = new double[gates * hidden * hidden];   // [G·H, H]
    public double[] BiasIh { get; } = new double[gates * hidden];              // [G·H]
    public double[] BiasHh { get; } = new double[gates * hidden];              // [G·H]

    /// <summary>weight_ih, weight_hh, bias_ih, bias_hh: the order of PyTorch's state_dict.</summary>
    public IEnumerable<double[]> All => [WeightIh, WeightHh, BiasIh, BiasHh];
}

/// <summary>
/// Parameter-shaped double arrays of an L-layer model (weights, their gradients, or optimizer moments), named and laid
/// out as the state_dict of <c>nn.RNN/LSTM/GRU(I, H, num_layers=L)</c> as attribute <c>rnn</c> and <c>nn.Linear(H, O)</c>
/// as <c>fc</c>: layer 0's input size is I (V for characters, the one-hot vector), the layers above take H.
/// </summary>
public sealed class NaiveStackTensors : INaiveTensorSet
{
    public NaiveStackTensors(NaiveCell cell, int layers, int inputs, int hidden, int outputs)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "must be ≥ 1");
        Cell = cell;
        Outputs = outputs;
        Layers = Enumerable.Range(0, layers).Select(l => new NaiveLayerTensors(cell.Gates(), l == 0 ? inputs : hidden, hidden)).ToArray();
        FcWeight = new double[outputs * hidden];
        FcBias = new double[outputs];
    }

    public NaiveCell Cell { get; }
    public int Outputs { get; }
    public NaiveLayerTensors[] Layers { get; }
    public double[] FcWeight { get; }   // [O,H]
    public double[] FcBias { get; }     // [O]

    /// <summary>Every tensor in state_dict order: each layer's weight_ih, weight_hh, bias_ih, bias_hh, then fc.weight, fc.bias.</summary>
    public IEnumerable<double[]> All => Layers.SelectMany(l => l.All).Concat([FcWeight, FcBias]);

    /// <summary>PyTorch's names of <see cref="All"/>: rnn.weight_ih_l0 … fc.bias.</summary>
    public IEnumerable<string> Names => Enumerable.Range(0, Layers.Length)
        .SelectMany(k => new[] { $"rnn.weight_ih_l{k}", $"rnn.weight_hh_l{k}", $"rnn.bias_ih_l{k}", $"rnn.bias_hh_l{k}" })
        .Concat(["fc.weight", "fc.bias"]);

    /// <summary>The tensor PyTorch calls <paramref name="name"/>.</summary>
    public double[] this[string name] => All.Zip(Names).Single(p => p.Second == name).First;

    /// <summary>Zeros of the same shapes (gradients, moments).</summary>
    public NaiveStackTensors ZerosLike() => new(Cell, Layers.Length, Layers[0].Inputs, Layers[0].Hidden, Outputs);

    public NaiveStackTensors Clone()
    {
        var copy = ZerosLike();
        foreach (var (from, to) in All.Zip(copy.All)) from.CopyTo(to, 0);
        return copy;
    }

    /// <summary>Every value uniform in ±<paramref name="scale"/>.</summary>
    public void FillUniform(Random rng, double scale)
    {
        foreach (var t in All) for (int i = 0; i < t.Length; i++) t[i] = (rng.NextDouble() * 2 - 1) * scale;
    }
}
