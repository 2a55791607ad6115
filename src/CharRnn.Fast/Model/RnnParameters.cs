using CharRnn.Fast.Kernels;

namespace CharRnn.Fast.Model;

/// <summary>
/// All parameters of an RNN in ONE contiguous float block, each tensor a view into it:
/// <c>[ Wxhᵀ (I,H) | Whh (H,H) | bh (H) | Why (O,H) | by (O) ]</c>, row-major.
/// Wxh is stored transposed (one row of H per input token) so a one-hot input is a contiguous row gather; the
/// file format keeps the math shape [H,I]. Gradients and optimizer moments use this same class, so clipping and
/// the optimizer are single loops over <see cref="All"/>. The block starts on a cache line (so do the matrices when H is a
/// multiple of 16).
/// </summary>
public sealed class RnnParameters
{
    private readonly int _whhOffset, _bhOffset, _whyOffset, _byOffset;
    private readonly AlignedBuffer _data;

    /// <summary>A zeroed block for <paramref name="shape"/>.</summary>
    public RnnParameters(RnnShape shape)
    {
        shape.Validate();
        Shape = shape;
        int i = shape.InputSize, h = shape.HiddenSize, o = shape.OutputSize;
        _whhOffset = i * h;
        _bhOffset = _whhOffset + h * h;
        _whyOffset = _bhOffset + h;
        _byOffset = _whyOffset + o * h;
        _data = new AlignedBuffer(_byOffset + o);
    }

    /// <summary>The sizes.</summary>
    public RnnShape Shape { get; }

    /// <summary>Every parameter, in block order.</summary>
    public Span<float> All => _data.Span;

    /// <summary>Wxhᵀ: [I,H] row-major (row t = the input weights of token t).</summary>
    public Span<float> WxhT => _data.AsSpan(0, _whhOffset);

    /// <summary>Whh: [H,H] row-major.</summary>
    public Span<float> Whh => _data.AsSpan(_whhOffset, _bhOffset - _whhOffset);

    /// <summary>bh: [H].</summary>
    public Span<float> Bh => _data.AsSpan(_bhOffset, Shape.HiddenSize);

    /// <summary>Why: [O,H] row-major.</summary>
    public Span<float> Why => _data.AsSpan(_whyOffset, _byOffset - _whyOffset);

    /// <summary>by: [O].</summary>
    public Span<float> By => _data.AsSpan(_byOffset, Shape.OutputSize);

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
