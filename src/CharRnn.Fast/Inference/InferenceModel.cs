using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Inference;

/// <summary>
/// An immutable snapshot of a <see cref="CharRnnModel"/> in the layouts generation reads (Wxhᵀ rows, Whhᵀ, Whyᵀ).
/// Thread-safe: share one across threads and give each caller its own <see cref="Generator"/>.
/// Later changes to the source model's parameters do not affect it.
/// </summary>
public sealed class InferenceModel
{
    private readonly float[] _wxhT, _bh, _by;
    private readonly Kernels.AlignedBuffer _whhT, _whyT;

    /// <summary>Copies and packs the weights of <paramref name="model"/>; kernels run on <paramref name="policy"/> (default <see cref="Kernels.KernelPolicy.Default"/>).</summary>
    public InferenceModel(CharRnnModel model, Kernels.KernelPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Policy = policy ?? Kernels.KernelPolicy.Default;
        var p = model.Parameters;
        int h = model.HiddenSize, v = model.VocabularySize;
        Vocabulary = model.Vocabulary;
        Nonlinearity = model.Nonlinearity;
        SequenceMode = model.SequenceMode;
        BoundaryToken = model.BoundaryToken;
        HiddenSize = h;
        _wxhT = p.WxhT.ToArray();
        _bh = p.Bh.ToArray();
        _by = p.By.ToArray();
        _whhT = new Kernels.AlignedBuffer(h * h);
        _whyT = new Kernels.AlignedBuffer(h * v);
        Kernels.RowKernels.Transpose(Policy, _whhT, p.Whh, h, h);
        Kernels.RowKernels.Transpose(Policy, _whyT, p.Why, v, h);
    }

    public Vocabulary Vocabulary { get; }

    /// <summary>The kernels generation runs on, chosen when the model was made.</summary>
    public Kernels.KernelPolicy Policy { get; }
    public Nonlinearity Nonlinearity { get; }
    public bool SequenceMode { get; }
    public int BoundaryToken { get; }
    public int HiddenSize { get; }
    public int VocabularySize => Vocabulary.Count;

    /// <summary>Wxhᵀ: [V,H].</summary>
    internal ReadOnlySpan<float> WxhT => _wxhT;
    /// <summary>Whhᵀ: [H,H].</summary>
    internal ReadOnlySpan<float> WhhT => _whhT;
    /// <summary>bh: [H].</summary>
    internal ReadOnlySpan<float> Bh => _bh;
    /// <summary>Whyᵀ: [H,V].</summary>
    internal ReadOnlySpan<float> WhyT => _whyT;
    /// <summary>by: [V].</summary>
    internal ReadOnlySpan<float> By => _by;

    /// <summary>The token generation starts from when no prime is given: the boundary <c>\n</c> if the vocabulary has it, else token 0.</summary>
    public int DefaultStartToken => Vocabulary.TryGetId(new System.Text.Rune('\n'), out int id) ? id : 0;
}
