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
    private readonly Action<int> _stepUnits;
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
        int h = model.HiddenSize, v = model.VocabularySize, layers = model.Layers, gh = model.Shape.GateWidth;
        // split points at multiples of the GEMM's column unit keep every element's arithmetic, so any team size
        // produces the same numbers
        int unit = model.Policy.ColumnSplitUnit, units = (h + unit - 1) / unit;
        Threads = Math.Min(threads, units);
        _unitStart = new int[Threads + 1];
        for (int m = 0; m <= Threads; m++) _unitStart[m] = Math.Min(h, units * m / Threads * unit);
        _stepUnits = member => Step(_unitStart[member], _unitStart[member + 1], _barrier);
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
    }

    public InferenceModel Model => _model;

    /// <summary>Threads one step runs on: the requested count, at most one per 128 hidden units.</summary>
    public int Threads { get; }

    /// <summary>The team behind <see cref="Threads"/> &gt; 1 (tests look at its threads).</summary>
    internal WorkerTeam? Team => _team;

    /// <summary>The sampling RNG (reseed with <see cref="Reseed"/>).</summary>
    public Rng Rng { get; private set; }

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
    }

    /// <summary>Restarts the sampling RNG from <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed) => Rng = new Rng(seed);

    /// <summary>Feeds one token: every layer's cell steps; logits ← W·h_top + b.</summary>
    public void Feed(int token)
    {
        if ((uint)token >= (uint)_model.VocabularySize) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are in [0,{_model.VocabularySize})");
        ObjectDisposedException.ThrowIf(_disposed, this);
        int h = _model.HiddenSize;
        _token = token;
        if (_team is null || !_split!.Begin(1)) Step(0, h, null);
        else _team.Run(_stepUnits);
        _split?.End();
        (_h, _next) = (_next, _h);
        _model.OutputBias.CopyTo(_logits);
        var top = _h.AsSpan((_model.Layers - 1) * h, h);
        Gemm.Run<NoEpilogue>(_model.Policy, _logits, _logits, StridedMatrix.RowMajor(top, 1, h), _model.OutputT.View(), default);
        _hasLogits = true;
    }

    // Units [first, end) of every layer's step: the input term, the recurrent GEMV of every gate, the cell. A team's
    // members meet after each layer but the last, since the next layer reads all of this one's new state.
    private void Step(int first, int end, TeamBarrier? barrier)
    {
        var policy = _model.Policy;
        int h = _model.HiddenSize, gh = _model.Shape.GateWidth, count = end - first;
        var x = _x.AsSpan(0, gh);
        for (int l = 0; l < _model.Layers; l++)
        {
            var bias = _model.Bias(l);
            var prev = _h.AsSpan(l * h, h);
            var next = _next.AsSpan(l * h, h);
            // the input term x = W_ih·input + b: a row of layer 0's table, a GEMV with the layer below's new state above it
            for (int g = 0; g < gh; g += h)
            {
                if (l == 0)
                    Elementwise.Apply(policy, new SumOperator(), x.Slice(g + first, count),
                        MemoryMarshalHelpers.AsWritable(_model.InputTable.Slice(_token * gh + g + first, count)), MemoryMarshalHelpers.AsWritable(bias.Slice(g + first, count)));
                else
                    Gemm.RunColumns<NoEpilogue>(policy, x, bias, StridedMatrix.RowMajor(_next.AsSpan((l - 1) * h, h), 1, h), _model.InputT(l).View(), default, g + first, g + end);
            }
            var a = StridedMatrix.RowMajor(prev, 1, h);
            var w = _model.RecurrentT(l);
            switch (_model.Cell)
            {
                case CellKind.Rnn:
                    if (_model.Nonlinearity == Nonlinearity.Tanh) Gemm.RunColumns<TanhEpilogue>(policy, next, x, a, w.View(), default, first, end);
                    else Gemm.RunColumns<ReluEpilogue>(policy, next, x, a, w.View(), default, first, end);
                    break;
                case CellKind.Lstm:
                {
                    var gates = _gates.AsSpan(0, gh);
                    for (int g = 0; g < gh; g += h) Gemm.RunColumns<NoEpilogue>(policy, gates, x, a, w.View(), default, g + first, g + end);
                    var c = _c.AsSpan(l * h + first, count); // updated in place: each unit reads its old c before writing the new one
                    CellKernels.LstmForward(policy, gates.Slice(first), h, c, c, next.Slice(first), count);
                    break;
                }
                default:
                {
                    var rec = _rec.AsSpan(0, gh);
                    for (int g = 0; g < gh; g += h) Gemm.RunColumns<NoEpilogue>(policy, rec, default, a, w.View(), default, g + first, g + end);
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
        _logits.AsSpan(0, _work.Length).CopyTo(_work);
        return Sampler.Sample(_model.Policy, _work, options, Rng, _keys, _order);
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
        int v = _model.VocabularySize;
        _logits.AsSpan(0, v).CopyTo(probabilities);
        Softmax.InPlace(_model.Policy, probabilities.Slice(0, v), (float)(1.0 / temperature));
    }

    /// <summary>Stops the team's threads; feeding afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _team?.Dispose();
    }
}
