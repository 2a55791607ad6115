using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Inference;

/// <summary>
/// The per-caller state of generation: hidden vector, logits and scratch, over a shared <see cref="InferenceModel"/>.
/// One step is a fused cell (row gather + bias + h·Whhᵀ + tanh) and the logits GEMV; nothing is allocated after
/// construction. Not thread-safe: one generator per thread; many generators may share one model.
/// With <c>threads</c> &gt; 1 the cell is split by columns of Whhᵀ over a team of threads that each keep their slice
/// in their own cache (one meeting per character); the results are bit-identical to one thread. While the team is
/// measured to be slower (its threads lack free cores) steps run on the caller alone. Dispose such a generator to stop
/// its threads.
/// </summary>
public sealed class Generator : IDisposable
{
    private readonly InferenceModel _model;
    private AlignedBuffer _h, _next;
    private readonly float[] _logits, _work, _keys;
    private readonly int[] _order;
    private bool _hasLogits;
    private readonly WorkerTeam? _team;
    private readonly SplitChooser? _split;
    private readonly int[] _columnStart; // [team size + 1]: member m computes columns [start[m], start[m+1])
    private readonly Action<int> _cellColumns;
    private int _token;
    private bool _disposed;

    /// <summary>
    /// A generator at the zero state; <paramref name="seed"/> seeds its sampling RNG. <paramref name="threads"/> &gt; 1
    /// splits each step over that many threads, at most one per 128 hidden units (see <see cref="Threads"/>).
    /// </summary>
    public Generator(InferenceModel model, ulong seed = 1, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _model = model;
        int h = model.HiddenSize, v = model.VocabularySize;
        // split points at multiples of the GEMM's column unit keep every element's arithmetic, so any team size
        // produces the same numbers
        int units = (h + Gemm.ColumnSplitUnit - 1) / Gemm.ColumnSplitUnit;
        Threads = Math.Min(threads, units);
        _columnStart = new int[Threads + 1];
        for (int m = 0; m <= Threads; m++) _columnStart[m] = Math.Min(h, units * m / Threads * Gemm.ColumnSplitUnit);
        _cellColumns = member => Cell(_columnStart[member], _columnStart[member + 1]);
        if (Threads > 1) (_team, _split) = (new WorkerTeam(Threads), new SplitChooser());
        _h = new AlignedBuffer(h);
        _next = new AlignedBuffer(h);
        _logits = new float[v];
        _work = new float[v];
        _keys = new float[v];
        _order = new int[v];
        Rng = new Rng(seed);
    }

    public InferenceModel Model => _model;

    /// <summary>Threads one step runs on: the requested count, at most one per 128 hidden units.</summary>
    public int Threads { get; }

    /// <summary>The team behind <see cref="Threads"/> &gt; 1 (tests look at its threads).</summary>
    internal WorkerTeam? Team => _team;

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
        ObjectDisposedException.ThrowIf(_disposed, this);
        int h = _model.HiddenSize, v = _model.VocabularySize;
        _token = token;
        if (_team is null || !_split!.Begin(1)) Cell(0, h);
        else _team.Run(_cellColumns);
        _split?.End();
        (_h, _next) = (_next, _h);
        // logits = by + h·Whyᵀ
        _model.By.CopyTo(_logits);
        Gemm.MultiplyAdd(_logits, _h, _model.WhyT, 1, h, v);
        _hasLogits = true;
    }

    // The fused cell for columns [first, end): next = act(Wxhᵀ[token] + bh + h·Whhᵀ).
    private void Cell(int first, int end)
    {
        int h = _model.HiddenSize, n = end - first;
        Elementwise.Apply(new SumOperator(), _next.AsSpan(first, n), MemoryMarshalHelpers.AsWritable(_model.WxhT.Slice(_token * h + first, n)),
            MemoryMarshalHelpers.AsWritable(_model.Bh.Slice(first, n)));
        if (_model.Nonlinearity == Nonlinearity.Tanh) Gemm.RunColumns<TanhEpilogue>(_next, _next, _h, h, 1, _model.WhhT, default, 1, h, h, first, end);
        else Gemm.RunColumns<ReluEpilogue>(_next, _next, _h, h, 1, _model.WhhT, default, 1, h, h, first, end);
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

    /// <summary>Stops the team's threads; feeding afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _team?.Dispose();
    }
}
