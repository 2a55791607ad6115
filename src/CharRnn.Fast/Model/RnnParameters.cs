using CharRnn.Fast.Kernels;

namespace CharRnn.Fast.Model;

/// <summary>
/// All parameters of a network in ONE contiguous float block, each tensor a view into it, laid out by the
/// <see cref="ParameterTable"/>. Gradients and optimizer moments use this same class, so clipping and every optimizer
/// are single loops over <see cref="All"/>. The block starts on a cache line.
/// </summary>
public sealed class RnnParameters
{
    private readonly AlignedBuffer _data;

    /// <summary>A zeroed block for <paramref name="shape"/>.</summary>
    public RnnParameters(RnnShape shape)
    {
        shape.Validate();
        Shape = shape;
        Table = new ParameterTable(shape);
        _data = new AlignedBuffer(Table.Length);
    }

    /// <summary>The sizes, cell and depth.</summary>
    public RnnShape Shape { get; }

    /// <summary>Where each tensor lives.</summary>
    public ParameterTable Table { get; }

    /// <summary>Every parameter, in block order.</summary>
    public Span<float> All => _data.Span;

    /// <summary>The view of <paramref name="tensor"/> (a tensor of this block's table).</summary>
    public Span<float> this[ParameterTensor tensor] => _data.AsSpan(tensor.Offset, tensor.Length);

    /// <summary>W_ih of <paramref name="layer"/>, stored transposed: [in, G·H], row x = the gate inputs of input x.</summary>
    public Span<float> InputWeights(int layer) => this[Table.Get(ParameterRole.InputWeights, layer)];

    /// <summary>W_hh of <paramref name="layer"/>: [G·H, H] row-major, gate blocks in PyTorch's order.</summary>
    public Span<float> RecurrentWeights(int layer) => this[Table.Get(ParameterRole.RecurrentWeights, layer)];

    /// <summary>The bias of <paramref name="layer"/>: [G·H].</summary>
    public Span<float> Bias(int layer) => this[Table.Get(ParameterRole.Bias, layer)];

    /// <summary>GRU's b_hn of <paramref name="layer"/>: [H]; empty for other cells.</summary>
    public Span<float> NewGateHiddenBias(int layer)
        => Table.Find(ParameterRole.NewGateHiddenBias, layer) is { } t ? this[t] : default;

    /// <summary>The output layer's weights: [O, H] row-major.</summary>
    public Span<float> OutputWeights => this[Table.Get(ParameterRole.OutputWeights, -1)];

    /// <summary>The output layer's bias: [O].</summary>
    public Span<float> OutputBias => this[Table.Get(ParameterRole.OutputBias, -1)];

    /// <summary>Layer 0's W_ih stored transposed, [I, G·H] (min-char-rnn's Wxh as Wxhᵀ for the default model).</summary>
    public Span<float> WxhT => InputWeights(0);

    /// <summary>Layer 0's W_hh, [G·H, H].</summary>
    public Span<float> Whh => RecurrentWeights(0);

    /// <summary>Layer 0's bias, [G·H].</summary>
    public Span<float> Bh => Bias(0);

    /// <summary>The output weights, [O, H].</summary>
    public Span<float> Why => OutputWeights;

    /// <summary>The output bias, [O].</summary>
    public Span<float> By => OutputBias;

    /// <summary>A deep copy.</summary>
    public RnnParameters Clone()
    {
        var copy = new RnnParameters(Shape);
        All.CopyTo(copy.All);
        return copy;
    }

    /// <summary>Sets every value to zero.</summary>
    public void Clear() => All.Clear();

    /// <summary>True when no value is NaN or infinite.</summary>
    public bool AllFinite()
    {
        foreach (float x in All) if (!float.IsFinite(x)) return false;
        return true;
    }
}
