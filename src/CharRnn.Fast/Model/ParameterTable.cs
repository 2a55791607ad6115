namespace CharRnn.Fast.Model;

/// <summary>What a parameter tensor is for.</summary>
public enum ParameterRole
{
    /// <summary>W_ih of a layer, [G·H, in] in math and file layout, stored transposed [in, G·H]: a one-hot input selects a row.</summary>
    InputWeights,

    /// <summary>W_hh of a layer, [G·H, H].</summary>
    RecurrentWeights,

    /// <summary>The layer's bias, [G·H]: PyTorch's b_ih + b_hh, one trainable bias per gate row (saved as bias_ih).</summary>
    Bias,

    /// <summary>GRU's b_hn, [H]: inside r ⊙ (W_hn·h + b_hn), so it cannot fold into the bias (saved in the n rows of bias_hh).</summary>
    NewGateHiddenBias,

    /// <summary>The output layer's weights (fc.weight), [O, H].</summary>
    OutputWeights,

    /// <summary>The output layer's bias (fc.bias), [O].</summary>
    OutputBias,
}

/// <summary>
/// One tensor of the parameter block: its name in checkpoints (PyTorch's state_dict names), math shape, where it sits in
/// the block and how (<paramref name="StoredTransposed"/>: the block holds [cols, rows]), its fan-in for initialisation
/// and its layer (−1 for the output layer).
/// </summary>
public sealed record ParameterTensor(string Name, ParameterRole Role, int Layer, int[] Shape, bool StoredTransposed, int FanIn, int Offset)
{
    /// <summary>Floats held.</summary>
    public int Length => Shape.Aggregate(1, (a, b) => a * b);

    /// <summary>"[512,65]".</summary>
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>
/// The one table of a network's parameters: every tensor, in block order, drives the parameter block, its views,
/// initialisation, checkpoints and <c>charrnn info</c>. Per layer k: W_ih (stored transposed, so a one-hot input is a
/// row gather), W_hh, the bias, and for a GRU b_hn; then the output layer's weights and bias. For the default
/// one-layer vanilla model that is min-char-rnn's Wxhᵀ, Whh, bh, Why, by.
/// </summary>
public sealed class ParameterTable
{
    private readonly ParameterTensor[] _tensors;
    private readonly int[] _layerStart; // index of layer k's first tensor; [L] = the output layer's

    public ParameterTable(RnnShape shape)
    {
        Shape = shape;
        var tensors = new List<ParameterTensor>();
        _layerStart = new int[shape.Layers + 1];
        int h = shape.HiddenSize, gh = shape.GateWidth, offset = 0;
        void Add(string name, ParameterRole role, int layer, int[] dims, bool transposed, int fanIn)
        {
            var t = new ParameterTensor(name, role, layer, dims, transposed, fanIn, offset);
            tensors.Add(t);
            offset = checked(offset + t.Length);
        }
        for (int k = 0; k < shape.Layers; k++)
        {
            _layerStart[k] = tensors.Count;
            int input = shape.LayerInputSize(k);
            Add($"rnn.weight_ih_l{k}", ParameterRole.InputWeights, k, [gh, input], true, input);
            Add($"rnn.weight_hh_l{k}", ParameterRole.RecurrentWeights, k, [gh, h], false, h);
            Add($"rnn.bias_ih_l{k}", ParameterRole.Bias, k, [gh], false, h);
            if (shape.Cell == CellKind.Gru) Add(HiddenBiasName(k), ParameterRole.NewGateHiddenBias, k, [h], false, h);
        }
        _layerStart[shape.Layers] = tensors.Count;
        Add("fc.weight", ParameterRole.OutputWeights, -1, [shape.OutputSize, h], false, h);
        Add("fc.bias", ParameterRole.OutputBias, -1, [shape.OutputSize], false, h);
        _tensors = [.. tensors];
        Length = offset;
    }

    public RnnShape Shape { get; }

    /// <summary>Floats in the block.</summary>
    public int Length { get; }

    /// <summary>Every tensor, in block order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    /// <summary>
    /// The tensors a format-2 file holds for these parameters, in file order, as PyTorch's state_dict names and shapes them:
    /// every tensor of the table, with <c>rnn.bias_hh_l{k}</c> [G·H] after each layer's bias_ih. bias_hh has no block of its
    /// own: it is zero but for a GRU's n rows, which hold b_hn (the table's [H] tensor, not a file tensor by itself).
    /// </summary>
    public IEnumerable<(string Name, int[] Shape)> FileTensors()
    {
        foreach (var t in _tensors)
        {
            if (t.Role == ParameterRole.NewGateHiddenBias) continue;
            yield return (t.Name, t.Shape);
            if (t.Role == ParameterRole.Bias) yield return (HiddenBiasName(t.Layer), [Shape.GateWidth]);
        }
    }

    /// <summary>PyTorch's name of layer <paramref name="layer"/>'s hidden bias, b_hh.</summary>
    public static string HiddenBiasName(int layer) => $"rnn.bias_hh_l{layer}";

    /// <summary>The tensor of <paramref name="role"/> in <paramref name="layer"/> (−1: the output layer); null when the cell has none (b_hn outside a GRU).</summary>
    public ParameterTensor? Find(ParameterRole role, int layer)
    {
        int first = layer < 0 ? _layerStart[Shape.Layers] : _layerStart[layer], end = layer < 0 ? _tensors.Length : _layerStart[layer + 1];
        for (int i = first; i < end; i++) if (_tensors[i].Role == role) return _tensors[i];
        return null;
    }

    /// <summary>The tensor of <paramref name="role"/> in <paramref name="layer"/>; throws when the cell has none.</summary>
    public ParameterTensor Get(ParameterRole role, int layer)
        => Find(role, layer) ?? throw new ArgumentException($"a {Shape.Cell.Name()} layer has no {role}");

    /// <summary>Floats of every parameter of <paramref name="shape"/>, without building the table.</summary>
    public static long Count(RnnShape shape)
    {
        long h = shape.HiddenSize, gh = (long)shape.Gates * h, total = 0;
        for (int k = 0; k < shape.Layers; k++)
            total += gh * shape.LayerInputSize(k) + gh * h + gh + (shape.Cell == CellKind.Gru ? h : 0);
        return total + shape.OutputSize * h + shape.OutputSize;
    }
}
