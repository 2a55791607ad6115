namespace CharRnn.Fast.Model;

/// <summary>
/// All parameters of an RNN in ONE contiguous float block, each tensor a view into it:
/// <c>[ Wxhᵀ (I,H) | Whh (H,H) | bh (H) | Why (O,H) | by (O) ]</c>, row-major.
/// Wxh is stored transposed (one row of H per input token) so a one-hot input is a contiguous row gather; the
/// file format keeps the math shape [H,I]. Gradients and optimizer moments use this same class, so clipping and
/// the optimizer are single loops over <see cref="All"/>.
/// </summary>
public sealed class RnnParameters
{
    private readonly int _whhOffset, _bhOffset, _whyOffset, _byOffset;

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
        Data = new float[_byOffset + o];
    }

    /// <summary>The sizes.</summary>
    public RnnShape Shape { get; }

    /// <summary>The whole block.</summary>
    public float[] Data { get; }

    /// <summary>Every parameter, in block order.</summary>
    public Span<float> All => Data;

    /// <summary>Wxhᵀ: [I,H] row-major (row t = the input weights of token t).</summary>
    public Span<float> WxhT => Data.AsSpan(0, _whhOffset);

    /// <summary>Whh: [H,H] row-major.</summary>
    public Span<float> Whh => Data.AsSpan(_whhOffset, _bhOffset - _whhOffset);

    /// <summary>bh: [H].</summary>
    public Span<float> Bh => Data.AsSpan(_bhOffset, Shape.HiddenSize);

    /// <summary>Why: [O,H] row-major.</summary>
    public Span<float> Why => Data.AsSpan(_whyOffset, _byOffset - _whyOffset);

    /// <summary>by: [O].</summary>
    public Span<float> By => Data.AsSpan(_byOffset, Shape.OutputSize);

    /// <summary>A deep copy.</summary>
    public RnnParameters Clone()
    {
        var copy = new RnnParameters(Shape);
        Data.CopyTo(copy.Data, 0);
        return copy;
    }

    /// <summary>Sets every value to zero.</summary>
    public void Clear() => Array.Clear(Data);

    /// <summary>True when no value is NaN or infinite.</summary>
    public bool AllFinite()
    {
        foreach (float x in Data) if (!float.IsFinite(x)) return false;
        return true;
    }
}
