using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>
/// Many independent generation streams advanced together (a server's users, <c>sample --count N</c>): one step feeds
/// every stream's token through each layer as GEMMs over the streams' rows, so a weight is read once per step for all of
/// them instead of once per stream. Each stream has its own state, seed and sampling options, and computes exactly what
/// a <see cref="Generator"/> started with the same seed computes, bit for bit, in every weight format: each gate block
/// of the weights (and the output layer's) is laid out once for the batch (<see cref="GenerationMatrix.Block"/>: in f32
/// the columns a single row's GEMV covers with its 8-vector tiles become a GEMM over packed panels, whose tiles give every
/// element the same sequence of FMAs, and the few columns past them run row by row on the same kernels as the single
/// stream; bf16 and int8 products give a row the same result alone or with others). Buffers are allocated once; a step
/// allocates nothing. Not thread-safe.
/// </summary>
public sealed class BatchGenerator
{
    private readonly InferenceModel _model;
    private readonly int _streams;
    private readonly GemvBlock[][] _recurrent, _input;      // [layer][gate]: the gate's block of W_hhᵀ / W_ihᵀ (none for layer 0's input) laid out for the batch
    private readonly GemvBlock _output;                     // the output layer's Wᵀ, all its columns
    private readonly GemvScratch _scratch;                  // the streams' inputs to one product, prepared
    private AlignedBuffer _h, _next;                        // h [L, M, H]
    private readonly AlignedBuffer _c;                      // c [L, M, H] (LSTM)
    private readonly AlignedBuffer _x, _gates, _rec, _nh;   // [M, G·H] each (nh: [M, H]): one layer's step
    private readonly AlignedBuffer _logits;                 // [M, V rounded up to whole vectors]
    private readonly int[] _tokens;                         // [M]: what the step feeds
    private readonly Rng[] _rngs;
    private readonly bool[] _hasLogits, _ended;
    private readonly float[] _work, _keys;
    private readonly int[] _order;
    private readonly float[] _parked;                       // [M, L·H h, L·H c (LSTM), V logits]: a lines model's ended streams as they ended

    /// <summary><paramref name="streams"/> streams over <paramref name="model"/>, each at the zero state with seed 1 until <see cref="Start"/>.</summary>
    public BatchGenerator(InferenceModel model, int streams)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(streams, 1);
        _model = model;
        _streams = streams;
        int h = model.HiddenSize, gh = model.Shape.GateWidth, layers = model.Layers, v = model.VocabularySize, gates = model.Shape.Gates;
        _recurrent = new GemvBlock[layers][];
        _input = new GemvBlock[layers][];
        for (int l = 0; l < layers; l++)
        {
            _recurrent[l] = new GemvBlock[gates];
            _input[l] = new GemvBlock[l == 0 ? 0 : gates];
            for (int g = 0; g < gates; g++)
            {
                _recurrent[l][g] = model.RecurrentT(l).Block(g * h, h);
                if (l > 0) _input[l][g] = model.InputT(l).Block(g * h, h);
            }
        }
        _output = model.OutputT.Block(0, model.OutputColumns);
        _scratch = model.NewScratch(streams);
        _h = new AlignedBuffer(layers * streams * h);
        _next = new AlignedBuffer(layers * streams * h);
        _c = new AlignedBuffer(model.Cell == CellKind.Lstm ? layers * streams * h : 0);
        _x = new AlignedBuffer(streams * gh);
        _gates = new AlignedBuffer(model.Cell == CellKind.Rnn ? 0 : streams * gh);
        _rec = new AlignedBuffer(model.Cell == CellKind.Gru ? streams * gh : 0);
        _nh = new AlignedBuffer(model.Cell == CellKind.Gru ? streams * h : 0);
        _logits = new AlignedBuffer(streams * model.OutputColumns);
        _tokens = new int[streams];
        _rngs = new Rng[streams];
        for (int i = 0; i < streams; i++) _rngs[i] = new Rng(1);
        _hasLogits = new bool[streams];
        _ended = new bool[streams];
        _work = new float[v];
        _keys = new float[v];
        _order = new int[v];
        _parked = new float[model.SequenceMode ? streams * ParkedLength : 0];
    }

    public InferenceModel Model => _model;

    /// <summary>M: the streams this batch advances.</summary>
    public int Streams => _streams;

    /// <summary>
    /// Starts a sample on <paramref name="stream"/> as <see cref="Generator"/> does: zero state, RNG seeded with
    /// <paramref name="seed"/>, a lines model's boundary token fed first, then <paramref name="prime"/> (its characters
    /// must be in the vocabulary); in a stream model without a prime, the default start token.
    /// </summary>
    public void Start(int stream, ulong seed, ReadOnlySpan<char> prime = default)
    {
        CheckStream(stream);
        var vocabulary = _model.Vocabulary;
        foreach (var rune in prime.EnumerateRunes())
            if (!vocabulary.TryGetId(rune, out _)) vocabulary.Encode(prime.ToString()); // throws, naming every unknown character
        int h = _model.HiddenSize;
        for (int l = 0; l < _model.Layers; l++)
        {
            _h.AsSpan((l * _streams + stream) * h, h).Clear();
            if (_c.Length > 0) _c.AsSpan((l * _streams + stream) * h, h).Clear();
        }
        _rngs[stream] = new Rng(seed);
        _hasLogits[stream] = false;
        _ended[stream] = false;
        if (_model.SequenceMode) FeedOne(stream, _model.BoundaryToken);
        foreach (var rune in prime.EnumerateRunes())
        {
            vocabulary.TryGetId(rune, out int id);
            FeedOne(stream, id);
        }
    }

    /// <summary>True once a lines model's sample on <paramref name="stream"/> has drawn its boundary token (until the next <see cref="Start"/>).</summary>
    public bool IsEnded(int stream)
    {
        CheckStream(stream);
        return _ended[stream];
    }

    /// <summary>Logits [V] of <paramref name="stream"/> after its last fed token (empty before any).</summary>
    public ReadOnlySpan<float> Logits(int stream)
    {
        CheckStream(stream);
        return _hasLogits[stream] ? _logits.AsSpan(stream * _model.OutputColumns, _model.VocabularySize) : default;
    }

    /// <summary>
    /// One step for every stream: each stream that has not ended draws its next token from its logits with
    /// <c>options[i]</c> (or <c>options[0]</c> for all when one is given) and its own RNG; a lines model's stream that
    /// draws the boundary ends (<c>tokens[i]</c> = −1, nothing fed); then every other stream's token is fed, all streams in
    /// one pass through the layers. <c>tokens[i]</c> receives stream i's token, −1 for an ended stream.
    /// </summary>
    public void Next(ReadOnlySpan<SamplingOptions> options, Span<int> tokens)
    {
        if (options.Length != 1 && options.Length != _streams) throw new ArgumentException($"give one sampling option for all streams or one per stream ({_streams})", nameof(options));
        if (tokens.Length < _streams) throw new ArgumentException($"tokens must hold {_streams} entries", nameof(tokens));
        for (int i = 0; i < _streams; i++)
        {
            if (!_hasLogits[i] && !_ended[i]) FeedOne(i, _model.DefaultStartToken); // as Generator.SampleNext starts
        }
        for (int i = 0; i < _streams; i++)
        {
            if (_ended[i]) { tokens[i] = -1; _tokens[i] = 0; continue; }
            ref readonly var o = ref options[options.Length == 1 ? 0 : i];
            o.Validate();
            _logits.AsSpan(i * _model.OutputColumns, _work.Length).CopyTo(_work);
            int token = Sampler.Sample(_model.Policy, _work, o, _rngs[i], _keys, _order);
            if (token == _model.BoundaryToken && _model.SequenceMode)
            {
                _ended[i] = true;
                Park(i);
                tokens[i] = -1;
                _tokens[i] = 0; // an ended stream still steps with the rest; its state is not read again before Start
                continue;
            }
            tokens[i] = _tokens[i] = token;
        }
        Step(0, _streams);
    }

    // a step of one stream alone (priming): the same arithmetic as the whole batch's, on its row
    private void FeedOne(int stream, int token)
    {
        if ((uint)token >= (uint)_model.VocabularySize) throw new ArgumentOutOfRangeException(nameof(token), token, $"token ids are in [0,{_model.VocabularySize})");
        _tokens[stream] = token;
        Step(stream, stream + 1);
    }

    // Rows [r0, r1) through every layer and the logits; every other row keeps its state.
    private void Step(int r0, int r1)
    {
        var policy = _model.Policy;
        int h = _model.HiddenSize, gh = _model.Shape.GateWidth, rows = r1 - r0, m = _streams;
        for (int l = 0; l < _model.Layers; l++)
        {
            var bias = _model.Bias(l);
            var prev = _h.AsSpan((l * m + r0) * h, rows * h);
            var next = _next.AsSpan((l * m + r0) * h, rows * h);
            var x = _x.AsSpan(r0 * gh, rows * gh);
            // the input term: a row of layer 0's table, or the layer below's new state times W_ihᵀ (bias as the init)
            if (l == 0)
                for (int r = 0; r < rows; r++)
                    Elementwise.Apply(policy, new SumOperator(), x.Slice(r * gh, gh),
                        MemoryMarshalHelpers.AsWritable(_model.InputTable.Slice(_tokens[r0 + r] * gh, gh)), MemoryMarshalHelpers.AsWritable(bias));
            else
            {
                for (int r = 0; r < rows; r++) bias.CopyTo(x.Slice(r * gh, gh));
                var below = _model.InputT(l).Prepare(_next.AsSpan(((l - 1) * m + r0) * h, rows * h), rows, _scratch);
                for (int g = 0; g < gh; g += h) _input[l][g / h].Run(GemvEpilogue.None, x, x, below);
            }
            var a = _model.RecurrentT(l).Prepare(prev, rows, _scratch); // after the input products: they share the scratch
            switch (_model.Cell)
            {
                case CellKind.Rnn:
                    _recurrent[l][0].Run(_model.Nonlinearity == Nonlinearity.Tanh ? GemvEpilogue.Tanh : GemvEpilogue.Relu, next, x, a);
                    break;
                case CellKind.Lstm:
                {
                    var gates = _gates.AsSpan(r0 * gh, rows * gh);
                    for (int g = 0; g < gh; g += h) _recurrent[l][g / h].Run(GemvEpilogue.None, gates, x, a);
                    var c = _c.AsSpan((l * m + r0) * h, rows * h);
                    for (int r = 0; r < rows; r++)
                        CellKernels.LstmForward(policy, gates.Slice(r * gh), h, c.Slice(r * h, h), c.Slice(r * h, h), next.Slice(r * h, h), h);
                    break;
                }
                default:
                {
                    var rec = _rec.AsSpan(r0 * gh, rows * gh);
                    for (int g = 0; g < gh; g += h) _recurrent[l][g / h].Run(GemvEpilogue.None, rec, default, a);
                    var gates = _gates.AsSpan(r0 * gh, rows * gh);
                    var bhn = _model.NewGateBias(l);
                    for (int r = 0; r < rows; r++)
                        CellKernels.GruForward(policy, x.Slice(r * gh), rec.Slice(r * gh), h, bhn, prev.Slice(r * h, h), gates.Slice(r * gh), _nh.AsSpan((r0 + r) * h, h), next.Slice(r * h, h), h);
                    break;
                }
            }
        }
        // logits ← W·h_top + b
        int v = _model.OutputColumns;
        var logits = _logits.AsSpan(r0 * v, rows * v);
        for (int r = 0; r < rows; r++) _model.OutputBias.CopyTo(logits.Slice(r * v, v));
        _output.Run(GemvEpilogue.None, logits, logits, _model.OutputT.Prepare(_next.AsSpan(((_model.Layers - 1) * m + r0) * h, rows * h), rows, _scratch));
        for (int r = r0; r < r1; r++) _hasLogits[r] = true;
        // the new states become the current ones (rows outside [r0, r1) are copied along, unchanged)
        if (rows == m) (_h, _next) = (_next, _h);
        else
            for (int l = 0; l < _model.Layers; l++) _next.AsSpan((l * m + r0) * h, rows * h).CopyTo(_h.AsSpan((l * m + r0) * h, rows * h));
    }

    /// <summary>
    /// Writes <paramref name="stream"/>'s resumable state (see <see cref="GeneratorState"/>; the same bytes a
    /// <see cref="Generator"/> in its place would write) into the first <see cref="GeneratorState.Size"/> bytes of
    /// <paramref name="state"/> and returns that size; throws <see cref="ArgumentException"/> when the span is shorter.
    /// A stream that has ended saves the state it ended in. Changes nothing; allocates nothing.
    /// </summary>
    public int SaveState(int stream, Span<byte> state)
    {
        CheckStream(stream);
        if (_ended[stream]) return GeneratorState.Write(_model, state, Parked(stream), ParkedLogits(stream), _rngs[stream], ended: true);
        return GeneratorState.Write(_model, state, Rows(stream), Logits(stream), _rngs[stream], ended: false);
    }

    /// <summary>
    /// Puts a state saved by <see cref="SaveState"/> or <see cref="Generator.SaveState"/> (same model shape and
    /// vocabulary) into <paramref name="stream"/>, which then continues exactly as the generator that saved it would
    /// have; the other streams are untouched. A state it cannot take throws <see cref="StateMismatchException"/> and
    /// changes nothing. Allocates nothing unless it throws.
    /// </summary>
    public void LoadState(int stream, ReadOnlySpan<byte> state)
    {
        CheckStream(stream);
        var logits = _logits.AsSpan(stream * _model.OutputColumns, _model.VocabularySize);
        (_hasLogits[stream], _ended[stream]) = GeneratorState.Read(_model, state, Rows(stream), logits, _rngs[stream]);
        if (_ended[stream]) Park(stream);
    }

    private void CheckStream(int stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, _streams);
    }

    // stream i's rows of h [L, M, H] and c
    private StateRows Rows(int stream)
    {
        int h = _model.HiddenSize;
        return new(_h.Span[(stream * h)..], _c.Length == 0 ? default : _c.Span[(stream * h)..], _streams * h);
    }

    // An ended stream keeps stepping with the rest (on token 0), so its state as it ended is kept aside: h [L,H],
    // c [L,H] (LSTM), logits [V].
    private int ParkedLength => _model.Shape.StateSize(1) + _model.VocabularySize;

    private StateRows Parked(int stream)
    {
        int lh = _model.Layers * _model.HiddenSize;
        var parked = _parked.AsSpan(stream * ParkedLength, ParkedLength);
        return new(parked[..lh], _c.Length == 0 ? default : parked.Slice(lh, lh), _model.HiddenSize);
    }

    private Span<float> ParkedLogits(int stream) => _parked.AsSpan((stream + 1) * ParkedLength - _model.VocabularySize, _model.VocabularySize);

    private void Park(int stream)
    {
        var from = Rows(stream);
        var to = Parked(stream);
        int h = _model.HiddenSize;
        for (int l = 0; l < _model.Layers; l++)
        {
            from.H.Slice(l * from.LayerStride, h).CopyTo(to.H.Slice(l * h, h));
            if (_c.Length > 0) from.C.Slice(l * from.LayerStride, h).CopyTo(to.C.Slice(l * h, h));
        }
        _logits.AsSpan(stream * _model.OutputColumns, _model.VocabularySize).CopyTo(ParkedLogits(stream));
    }
}
