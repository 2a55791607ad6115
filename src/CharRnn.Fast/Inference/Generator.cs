using System.Text;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Inference;

/// <summary>
/// The per-caller state of generation — each layer's h (and an LSTM's c), logits and scratch — over a shared
/// <see cref="InferenceModel"/>. One step: layer 0's input term is a row gather, each layer above takes the one below's
/// new state through a GEMV, then each layer's cell (its GEMV with W_hhᵀ and the fused or element-wise cell update),
/// then the logits GEMV; nothing is allocated after construction. Not thread-safe: one generator per thread; many
/// generators may share one model. With <c>threads</c> &gt; 1 every layer's step is split by units (128-unit slices of
/// every gate) over a team of threads that each keep their slices of the weights in their own cache, meeting once per
/// layer per character; the results are bit-identical to one thread. While the team is measured to be slower (its
/// threads lack free cores) steps run on the caller alone. Dispose such a generator to stop its threads.
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
    private AlignedBuffer _h, _next;                    // h [L,H]: the state, and where the step writes the next one
    private readonly AlignedBuffer _c, _x, _gates, _rec, _nh;
    private readonly float[] _logits, _work, _keys;
    private readonly int[] _order;
    private bool _hasLogits;
    private readonly WorkerTeam? _team;
    private readonly TeamBarrier? _barrier;
    private readonly SplitChooser? _split;
    private readonly int[] _unitStart; // [team size + 1]: member m computes units [start[m], start[m+1]) of every gate
    private readonly GemvScratch[] _scratch; // [team size]: where each member prepares the inputs of its products
    private readonly Action<int> _stepUnits;
    private int _token;
    private bool _ended;          // a lines model drew its boundary: the sample is over until Start, Reset or Feed
    private bool _disposed;
    private readonly int _maxUtf8Length; // the longest token's UTF-8 length
    private readonly float[] _saved;  // h [L,H], an LSTM's c [L,H], logits [V]: kept while TryGenerateUtf8 may have to undo
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
        int h = model.HiddenSize, v = model.VocabularySize, layers = model.Layers, gh = model.Shape.GateWidth;
        // split points at multiples of the GEMM's column unit keep every element's arithmetic, so any team size
        // produces the same numbers
        int unit = model.Policy.ColumnSplitUnit, units = (h + unit - 1) / unit;
        Threads = Math.Min(threads, units);
        _unitStart = new int[Threads + 1];
        for (int m = 0; m <= Threads; m++) _unitStart[m] = Math.Min(h, units * m / Threads * unit);
        _scratch = new GemvScratch[Threads];
        for (int m = 0; m < Threads; m++) _scratch[m] = model.NewScratch(1);
        _stepUnits = member => Step(_unitStart[member], _unitStart[member + 1], _barrier, _scratch[member]);
        if (Threads > 1)
        {
            _team = new WorkerTeam(Threads);
            _barrier = new TeamBarrier(Threads);
            _split = new SplitChooser();
        }
        _h = new AlignedBuffer(layers * h);
        _next = new AlignedBuffer(layers * h);
        _c = new AlignedBuffer(model.Cell == CellKind.Lstm ? layers * h : 0);
        _x = new AlignedBuffer(gh);
        _gates = new AlignedBuffer(model.Cell == CellKind.Rnn ? 0 : gh);
        _rec = new AlignedBuffer(model.Cell == CellKind.Gru ? gh : 0);
        _nh = new AlignedBuffer(model.Cell == CellKind.Gru ? h : 0);
        _logits = new float[model.OutputColumns]; // [V] and zeros to whole vectors
        _work = new float[v];
        _keys = new float[v];
        _order = new int[v];
        Rng = new Rng(seed);
        _saved = new float[_h.Length + _c.Length + v];
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

    /// <summary>h: [L,H], every layer's current hidden state (the top layer's last).</summary>
    public ReadOnlySpan<float> HiddenState => _h;

    /// <summary>Logits [V] after the last fed token (empty before any).</summary>
    public ReadOnlySpan<float> Logits => _hasLogits ? _logits.AsSpan(0, _model.VocabularySize) : default;

    /// <summary>Clears the state (a blank memory).</summary>
    public void Reset()
    {
        _h.Span.Clear();
        _c.Span.Clear();
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
        if (mayOverflow) SaveUndo();
        int written = 0;
        for (int n = 0; n < length && TryNext(options, out int token); n++)
        {
            if (!_model.Vocabulary[token].TryEncodeToUtf8(utf8[written..], out int size))
            {
                RestoreUndo();
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

    // What drawing and feeding change (every layer's h and c, logits, RNG, flags), kept so that RestoreUndo undoes a
    // TryGenerateUtf8.
    private void SaveUndo()
    {
        _h.Span.CopyTo(_saved);
        _c.Span.CopyTo(_saved.AsSpan(_h.Length));
        _logits.AsSpan(0, _model.VocabularySize).CopyTo(_saved.AsSpan(_h.Length + _c.Length));
        _savedRng.CopyFrom(Rng);
        (_savedHasLogits, _savedEnded) = (_hasLogits, _ended);
    }

    private void RestoreUndo()
    {
        _saved.AsSpan(0, _h.Length).CopyTo(_h.Span);
        _saved.AsSpan(_h.Length, _c.Length).CopyTo(_c.Span);
        _saved.AsSpan(_h.Length + _c.Length).CopyTo(_logits); // [V]: the padding past V is no state
        Rng.CopyFrom(_savedRng);
        (_hasLogits, _ended) = (_savedHasLogits, _savedEnded);
    }

    /// <summary>Feeds one token: every layer's cell steps; logits ← W·h_top + b.</summary>
    public void Feed(int token)
    {
        if ((uint)token >= (uint)_model.VocabularySize) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are in [0,{_model.VocabularySize})");
        ObjectDisposedException.ThrowIf(_disposed, this);
        int h = _model.HiddenSize;
        _token = token;
        _ended = false;
        if (_team is null || !_split!.Begin(1)) Step(0, h, null, _scratch[0]);
        else _team.Run(_stepUnits);
        _split?.End();
        (_h, _next) = (_next, _h);
        _model.OutputBias.CopyTo(_logits);
        var output = _model.OutputT;
        var top = output.Prepare(_h.AsSpan((_model.Layers - 1) * h, h), 1, _scratch[0]);
        output.RunColumns(GemvEpilogue.None, _logits, _logits, top, 0, output.Cols);
        _hasLogits = true;
    }

    // Units [first, end) of every layer's step: the input term, the recurrent GEMV of every gate, the cell. A team's
    // members meet after each layer but the last, since the next layer reads all of this one's new state.
    private void Step(int first, int end, TeamBarrier? barrier, GemvScratch scratch)
    {
        var policy = _model.Policy;
        int h = _model.HiddenSize, gh = _model.Shape.GateWidth, count = end - first;
        // the products run per gate over the units [first, end), or as one call over all gates where that is the same
        bool whole = policy.GatesRunAsOne(h, first, end);
        int stride = whole ? gh : h, width = whole ? gh : count;
        var x = _x.AsSpan(0, gh);
        for (int l = 0; l < _model.Layers; l++)
        {
            var bias = _model.Bias(l);
            var prev = _h.AsSpan(l * h, h);
            var next = _next.AsSpan(l * h, h);
            // the input term x = W_ih·input + b: a row of layer 0's table, a GEMV with the layer below's new state above it
            var input = _model.InputT(l);
            var below = l == 0 ? default : input.Prepare(_next.AsSpan((l - 1) * h, h), 1, scratch);
            for (int g = 0; g < gh; g += stride)
            {
                if (l == 0)
                    Elementwise.Apply(policy, new SumOperator(), x.Slice(g + first, width),
                        MemoryMarshalHelpers.AsWritable(_model.InputTable.Slice(_token * gh + g + first, width)), MemoryMarshalHelpers.AsWritable(bias.Slice(g + first, width)));
                else
                    input.RunColumns(GemvEpilogue.None, x, bias, below, g + first, g + first + width);
            }
            var w = _model.RecurrentT(l);
            var a = w.Prepare(prev, 1, scratch); // after the input products: they share the scratch
            switch (_model.Cell)
            {
                case CellKind.Rnn:
                    w.RunColumns(_model.Nonlinearity == Nonlinearity.Tanh ? GemvEpilogue.Tanh : GemvEpilogue.Relu, next, x, a, first, end);
                    break;
                case CellKind.Lstm:
                {
                    var gates = _gates.AsSpan(0, gh);
                    for (int g = 0; g < gh; g += stride) w.RunColumns(GemvEpilogue.None, gates, x, a, g + first, g + first + width);
                    var c = _c.AsSpan(l * h + first, count); // updated in place: each unit reads its old c before writing the new one
                    CellKernels.LstmForward(policy, gates.Slice(first), h, c, c, next.Slice(first), count);
                    break;
                }
                default:
                {
                    var rec = _rec.AsSpan(0, gh);
                    for (int g = 0; g < gh; g += stride) w.RunColumns(GemvEpilogue.None, rec, default, a, g + first, g + first + width);
                    CellKernels.GruForward(policy, x.Slice(first), rec.Slice(first), h, _model.NewGateBias(l).Slice(first), prev.Slice(first),
                        _gates.AsSpan(first, gh - first), _nh.AsSpan(first, count), next.Slice(first), count);
                    break;
                }
            }
            if (l + 1 < _model.Layers) barrier?.SignalAndWait();
        }
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
        _logits.AsSpan(0, _work.Length).CopyTo(_work);
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
        int v = _model.VocabularySize;
        if (probabilities.Length < v) throw new ArgumentException($"probabilities needs {v} floats, got {probabilities.Length}", nameof(probabilities));
        if (!_hasLogits) throw new InvalidOperationException("feed a token first");
        _logits.AsSpan(0, v).CopyTo(probabilities);
        Softmax.InPlace(_model.Policy, probabilities.Slice(0, v), SamplingOptions.InverseTemperature(temperature));
    }

    /// <summary>
    /// Writes this generator's resumable state (see <see cref="GeneratorState"/>) into the first
    /// <see cref="GeneratorState.Size"/> bytes of <paramref name="state"/> and returns that size; throws
    /// <see cref="ArgumentException"/> when the span is shorter. Changes nothing; allocates nothing.
    /// </summary>
    public int SaveState(Span<byte> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return GeneratorState.Write(_model, state, Rows, Logits, Rng, _ended);
    }

    /// <summary>
    /// Takes over a state saved by <see cref="SaveState"/> or <see cref="BatchGenerator.SaveState"/> from a model of
    /// the same shape and vocabulary: the generator then continues exactly as the one that saved it would have. A state
    /// it cannot take throws <see cref="StateMismatchException"/> and changes nothing. Allocates nothing unless it throws.
    /// </summary>
    public void LoadState(ReadOnlySpan<byte> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        (_hasLogits, _ended) = GeneratorState.Read(_model, state, Rows, _logits, Rng);
    }

    private StateRows Rows => new(_h, _c, _model.HiddenSize);

    /// <summary>Stops the team's threads; feeding afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _team?.Dispose();
    }
}
