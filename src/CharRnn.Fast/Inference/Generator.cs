using System.Text;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Inference;

/// <summary>
/// The per-caller state of generation: hidden vector, logits and scratch, over a shared <see cref="InferenceModel"/>.
/// One step is a fused cell (row gather + bias + h·Whhᵀ + tanh) and the logits GEMV; nothing is allocated after
/// construction. Not thread-safe: one generator per thread; many generators may share one model.
/// With <c>threads</c> &gt; 1 the cell is split by columns of Whhᵀ over a team of threads that each keep their slice
/// in their own cache (one meeting per character); the results are bit-identical to one thread. Dispose such a
/// generator to stop its threads.
/// <para>
/// A sample follows one protocol, owned here and used by every front end (the <c>charrnn</c> tool, the C library):
/// <see cref="Start"/> (zero state, RNG seeded, in a lines model the boundary fed first, then the prime), then
/// <see cref="TryNext"/> until the length is reached or a lines model draws its boundary, which ends the sample and is
/// not part of its text. <see cref="Sample"/> and <see cref="TryGenerateUtf8"/> run that loop.
/// </para>
/// </summary>
public sealed class Generator : IDisposable
{
    private readonly InferenceModel _model;
    private AlignedBuffer _h, _next;
    private readonly float[] _logits, _work, _keys;
    private readonly int[] _order;
    private bool _hasLogits;
    private readonly WorkerTeam? _team;
    private readonly int[] _columnStart; // [team size + 1]: member m computes columns [start[m], start[m+1])
    private readonly Action<int> _cellColumns;
    private int _token;
    private bool _ended;          // a lines model drew its boundary: the sample is over until Start, Reset or Feed
    private bool _disposed;
    private readonly int _maxUtf8Length; // the longest token's UTF-8 length
    private readonly float[] _saved;  // [H + V] h and logits, kept while TryGenerateUtf8 may have to undo
    private readonly Rng _savedRng;
    private bool _savedHasLogits, _savedEnded;

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
        int unit = model.Policy.ColumnSplitUnit, units = (h + unit - 1) / unit;
        Threads = Math.Min(threads, units);
        _columnStart = new int[Threads + 1];
        for (int m = 0; m <= Threads; m++) _columnStart[m] = Math.Min(h, units * m / Threads * unit);
        _cellColumns = member => Cell(_columnStart[member], _columnStart[member + 1]);
        if (Threads > 1) _team = new WorkerTeam(Threads);
        _h = new AlignedBuffer(h);
        _next = new AlignedBuffer(h);
        _logits = new float[v];
        _work = new float[v];
        _keys = new float[v];
        _order = new int[v];
        Rng = new Rng(seed);
        _saved = new float[h + v];
        _savedRng = new Rng(seed);
        foreach (var symbol in model.Vocabulary.Symbols) _maxUtf8Length = Math.Max(_maxUtf8Length, symbol.Utf8SequenceLength);
    }

    public InferenceModel Model => _model;

    /// <summary>Threads one step runs on: the requested count, at most one per 128 hidden units.</summary>
    public int Threads { get; }

    /// <summary>The team behind <see cref="Threads"/> &gt; 1 (tests look at its threads).</summary>
    internal WorkerTeam? Team => _team;

    /// <summary>The sampling RNG (reseed with <see cref="Reseed"/>).</summary>
    public Rng Rng { get; }

    /// <summary>h: [H], the current hidden state.</summary>
    public ReadOnlySpan<float> HiddenState => _h;

    /// <summary>Logits [V] after the last fed token (empty before any).</summary>
    public ReadOnlySpan<float> Logits => _hasLogits ? _logits : default;

    /// <summary>Clears the hidden state (a blank memory).</summary>
    public void Reset()
    {
        _h.Span.Clear();
        _hasLogits = false;
        _ended = false;
    }

    /// <summary>Restarts the sampling RNG from <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed) => Rng.Reseed(seed);

    /// <summary>
    /// Starts a sample: the zero state, the RNG seeded with <paramref name="seed"/>, in a lines model the boundary fed
    /// first, then every character of <paramref name="prime"/>. Unknown characters in the prime throw an
    /// <see cref="Text.UnknownCharactersException"/> before anything changes. Allocates nothing unless it throws.
    /// </summary>
    public void Start(ulong seed, ReadOnlySpan<char> prime = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureKnown(prime);
        Reset();
        Rng.Reseed(seed);
        if (_model.SequenceMode) Feed(_model.BoundaryToken);
        FeedKnown(prime);
    }

    /// <summary>
    /// Draws the next token of the sample and feeds it back, or returns false, feeding nothing, when the sample has
    /// ended: a lines model drew its boundary (<paramref name="token"/> is then <see cref="InferenceModel.BoundaryToken"/>,
    /// and every later call returns false until <see cref="Start"/>, <see cref="Reset"/> or <see cref="Feed"/>).
    /// A stream model's sample never ends. Throws <see cref="ArgumentException"/> for invalid options.
    /// </summary>
    public bool TryNext(in SamplingOptions options, out int token)
    {
        options.Validate();
        token = _model.BoundaryToken; // −1 in a stream model, which never draws it
        if (_ended) return false;
        int id = Draw(options);
        if (id == token)
        {
            _ended = true;
            return false;
        }
        Feed(id);
        token = id;
        return true;
    }

    /// <summary>
    /// One whole sample: <see cref="Start"/>(<paramref name="seed"/>, <paramref name="prime"/>), then up to
    /// <paramref name="length"/> characters by <see cref="TryNext"/>. Returns the generated text without the prime.
    /// </summary>
    public string Sample(ulong seed, int length, in SamplingOptions options, ReadOnlySpan<char> prime = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        options.Validate();
        Start(seed, prime);
        var text = new StringBuilder(Math.Min(length, 4096));
        for (int n = 0; n < length && TryNext(options, out int token); n++) text.Append(_model.Vocabulary.GetString(token));
        return text.ToString();
    }

    /// <summary>
    /// Continues the sample with up to <paramref name="length"/> characters (fewer when it ends) as UTF-8 into
    /// <paramref name="utf8"/>. When they do not fit, returns false with <paramref name="bytesWritten"/> = 0 and leaves the
    /// generator exactly as it was (state, logits, RNG), so a retry with room for <see cref="MaxUtf8ByteCount"/> bytes
    /// gives the same text; it has then drawn at most <c>utf8.Length + 1</c> characters, so the work is bounded by the
    /// buffer, not by <paramref name="length"/>. Allocates nothing per character.
    /// </summary>
    public bool TryGenerateUtf8(in SamplingOptions options, int length, Span<byte> utf8, out int bytesWritten)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        options.Validate();
        bool mayOverflow = utf8.Length < MaxUtf8ByteCount(length);
        if (mayOverflow) SaveState();
        int written = 0;
        for (int n = 0; n < length && TryNext(options, out int token); n++)
        {
            if (!_model.Vocabulary[token].TryEncodeToUtf8(utf8[written..], out int size))
            {
                RestoreState();
                bytesWritten = 0;
                return false;
            }
            written += size;
        }
        bytesWritten = written;
        return true;
    }

    /// <summary>UTF-8 bytes enough for any <paramref name="characters"/> tokens of this model: characters × its longest token's length.</summary>
    public long MaxUtf8ByteCount(int characters)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(characters);
        return (long)characters * _maxUtf8Length;
    }

    // What drawing and feeding change (h, logits, RNG, flags), kept so that RestoreState undoes a TryGenerateUtf8.
    private void SaveState()
    {
        int h = _model.HiddenSize;
        _h.Span.CopyTo(_saved);
        _logits.CopyTo(_saved, h);
        _savedRng.CopyFrom(Rng);
        (_savedHasLogits, _savedEnded) = (_hasLogits, _ended);
    }

    private void RestoreState()
    {
        int h = _model.HiddenSize;
        _saved.AsSpan(0, h).CopyTo(_h.Span);
        _saved.AsSpan(h).CopyTo(_logits);
        Rng.CopyFrom(_savedRng);
        (_hasLogits, _ended) = (_savedHasLogits, _savedEnded);
    }

    /// <summary>Feeds one token: h ← act(Wxh·x + bh + Whh·h); logits ← Why·h + by.</summary>
    public void Feed(int token)
    {
        if ((uint)token >= (uint)_model.VocabularySize) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are in [0,{_model.VocabularySize})");
        ObjectDisposedException.ThrowIf(_disposed, this);
        int h = _model.HiddenSize, v = _model.VocabularySize;
        _token = token;
        _ended = false;
        if (_team is null) Cell(0, h);
        else _team.Run(_cellColumns);
        (_h, _next) = (_next, _h);
        // logits = by + h·Whyᵀ
        _model.By.CopyTo(_logits);
        Gemm.MultiplyAdd(_model.Policy, _logits, _h, _model.WhyT, 1, h, v);
        _hasLogits = true;
    }

    // The fused cell for columns [first, end): next = act(Wxhᵀ[token] + bh + h·Whhᵀ).
    private void Cell(int first, int end)
    {
        int h = _model.HiddenSize, n = end - first;
        var policy = _model.Policy;
        Elementwise.Apply(policy, new SumOperator(), _next.AsSpan(first, n), MemoryMarshalHelpers.AsWritable(_model.WxhT.Slice(_token * h + first, n)),
            MemoryMarshalHelpers.AsWritable(_model.Bh.Slice(first, n)));
        var a = StridedMatrix.RowMajor(_h, 1, h);
        if (_model.Nonlinearity == Nonlinearity.Tanh) Gemm.RunColumns<TanhEpilogue>(policy, _next, _next, a, _model.WhhT, default, h, first, end);
        else Gemm.RunColumns<ReluEpilogue>(policy, _next, _next, a, _model.WhhT, default, h, first, end);
    }

    /// <summary>
    /// Feeds every character of <paramref name="text"/>. Unknown characters throw an <see cref="Text.UnknownCharactersException"/>
    /// naming them before anything is fed. Allocates nothing unless it throws.
    /// </summary>
    public void Prime(ReadOnlySpan<char> text)
    {
        EnsureKnown(text);
        FeedKnown(text);
    }

    private void EnsureKnown(ReadOnlySpan<char> text)
    {
        var vocabulary = _model.Vocabulary;
        foreach (var rune in text.EnumerateRunes())
            if (!vocabulary.TryGetId(rune, out _)) vocabulary.Encode(text.ToString()); // throws, naming every unknown character
    }

    private void FeedKnown(ReadOnlySpan<char> text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            _model.Vocabulary.TryGetId(rune, out int id);
            Feed(id);
        }
    }

    /// <summary>
    /// Draws the next token from the current logits without feeding it. Feeds the default start token first if nothing
    /// was fed yet. Throws <see cref="ArgumentException"/> for invalid options (<see cref="SamplingOptions.Validate"/>).
    /// </summary>
    public int SampleNext(in SamplingOptions options)
    {
        options.Validate();
        return Draw(options);
    }

    private int Draw(in SamplingOptions options)
    {
        if (!_hasLogits) Feed(_model.DefaultStartToken);
        _logits.CopyTo(_work, 0);
        return Sampler.Sample(_model.Policy, _work, options, Rng, _keys, _order);
    }

    /// <summary>
    /// Draws the next token and feeds it back, whatever it is (autoregressive generation without the end of a sample:
    /// see <see cref="TryNext"/>).
    /// </summary>
    public int Next(in SamplingOptions options)
    {
        int id = SampleNext(options);
        Feed(id);
        return id;
    }

    /// <summary>
    /// p = softmax(logits / temperature) of the current step into <paramref name="probabilities"/> ([V] or longer).
    /// Throws <see cref="ArgumentException"/> unless the temperature is a finite number &gt; 0.
    /// </summary>
    public void Probabilities(Span<float> probabilities, double temperature = 1.0)
    {
        SamplingOptions.ValidateTemperature(temperature);
        if (probabilities.Length < _logits.Length) throw new ArgumentException($"probabilities needs {_logits.Length} floats, got {probabilities.Length}", nameof(probabilities));
        if (!_hasLogits) throw new InvalidOperationException("feed a token first");
        _logits.CopyTo(probabilities);
        Softmax.InPlace(_model.Policy, probabilities.Slice(0, _logits.Length), SamplingOptions.InverseTemperature(temperature));
    }

    /// <summary>Stops the team's threads; feeding afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _team?.Dispose();
    }
}
