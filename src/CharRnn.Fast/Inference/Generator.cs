using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>
/// The per-caller state of generation: hidden vector, logits and scratch, over a shared <see cref="InferenceModel"/>.
/// One step is a fused cell (row gather + bias + h·Whhᵀ + tanh) and the logits GEMV; nothing is allocated after
/// construction. Not thread-safe: one generator per thread; many generators may share one model.
/// </summary>
public sealed class Generator
{
    private readonly InferenceModel _model;
    private AlignedBuffer _h, _next;
    private readonly float[] _logits, _work, _keys;
    private readonly int[] _order;
    private bool _hasLogits;

    /// <summary>A generator at the zero state; <paramref name="seed"/> seeds its sampling RNG.</summary>
    public Generator(InferenceModel model, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        int h = model.HiddenSize, v = model.VocabularySize;
        _h = new AlignedBuffer(h);
        _next = new AlignedBuffer(h);
        _logits = new float[v];
        _work = new float[v];
        _keys = new float[v];
        _order = new int[v];
        Rng = new Rng(seed);
    }

    public InferenceModel Model => _model;

    /// <summary>The sampling RNG (reseed with <see cref="Reseed"/>).</summary>
    public Rng Rng { get; private set; }

    /// <summary>h: [H], the current hidden state.</summary>
    public ReadOnlySpan<float> HiddenState => _h;

    /// <summary>Logits [V] after the last fed token (empty before any).</summary>
    public ReadOnlySpan<float> Logits => _hasLogits ? _logits : default;

    /// <summary>Clears the hidden state (a blank memory).</summary>
    public void Reset()
    {
        _h.Span.Clear();
        _hasLogits = false;
    }

    /// <summary>Restarts the sampling RNG from <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed) => Rng = new Rng(seed);

    /// <summary>Feeds one token: h ← act(Wxh·x + bh + Whh·h); logits ← Why·h + by.</summary>
    public void Feed(int token)
    {
        if ((uint)token >= (uint)_model.VocabularySize) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are in [0,{_model.VocabularySize})");
        int h = _model.HiddenSize, v = _model.VocabularySize;
        // fused cell: next = act(Wxhᵀ[token] + bh + h·Whhᵀ)
        Elementwise.Apply(new SumOperator(), _next, MemoryMarshalHelpers.AsWritable(_model.WxhT.Slice(token * h, h)), MemoryMarshalHelpers.AsWritable(_model.Bh));
        if (_model.Nonlinearity == Nonlinearity.Tanh) Gemm.Run<TanhEpilogue>(_next, _next, _h, h, 1, _model.WhhT, default, 1, h, h);
        else Gemm.Run<ReluEpilogue>(_next, _next, _h, h, 1, _model.WhhT, default, 1, h, h);
        (_h, _next) = (_next, _h);
        // logits = by + h·Whyᵀ
        _model.By.CopyTo(_logits);
        Gemm.MultiplyAdd(_logits, _h, _model.WhyT, 1, h, v);
        _hasLogits = true;
    }

    /// <summary>
    /// Feeds every character of <paramref name="text"/>. Unknown characters throw an <see cref="Text.UnknownCharactersException"/>
    /// naming them before anything is fed. Allocates nothing unless it throws.
    /// </summary>
    public void Prime(ReadOnlySpan<char> text)
    {
        var vocabulary = _model.Vocabulary;
        foreach (var rune in text.EnumerateRunes())
            if (!vocabulary.TryGetId(rune, out _)) vocabulary.Encode(text.ToString()); // throws, naming every unknown character
        foreach (var rune in text.EnumerateRunes())
        {
            vocabulary.TryGetId(rune, out int id);
            Feed(id);
        }
    }

    /// <summary>Draws the next token from the current logits without feeding it. Feeds the default start token first if nothing was fed yet.</summary>
    public int SampleNext(in SamplingOptions options)
    {
        if (!_hasLogits) Feed(_model.DefaultStartToken);
        _logits.CopyTo(_work, 0);
        return Sampler.Sample(_work, options, Rng, _keys, _order);
    }

    /// <summary>Draws the next token and feeds it back (autoregressive generation).</summary>
    public int Next(in SamplingOptions options)
    {
        int id = SampleNext(options);
        Feed(id);
        return id;
    }

    /// <summary>p = softmax(logits / temperature) of the current step into <paramref name="probabilities"/> ([V]).</summary>
    public void Probabilities(Span<float> probabilities, double temperature = 1.0)
    {
        if (!_hasLogits) throw new InvalidOperationException("feed a token first");
        _logits.CopyTo(probabilities);
        Softmax.InPlace(probabilities.Slice(0, _logits.Length), (float)(1.0 / temperature));
    }
}
