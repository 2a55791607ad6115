using CharRnn.Fast.Data;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Inference;

/// <summary>
/// Mean cross-entropy of an <see cref="InferenceModel"/> measured on the generation path: every prediction is the
/// logits a <see cref="Generator"/> computes after feeding the text so far, one character at a time, in the model's
/// weight format — what sampling with those weights sees (with int8 that includes the rounding of each product's input
/// to int8, which evaluating dequantized weights in float would leave out). The data order and the result are
/// <see cref="BatchedEvaluator"/>'s: B shards of ⌊(N−1)/B⌋, each from a zero state, reset at boundary tokens in sequence
/// models; with f32 weights the two agree to float rounding. Slower than <see cref="BatchedEvaluator"/>, which runs T
/// positions per GEMM: this one is as fast as generation. Streams are split among the threads (a generator each); one
/// stream splits its steps by columns instead. Not thread-safe.
/// </summary>
public sealed class GenerationEvaluator : IDisposable
{
    private const int Chunk = 4096; // positions of one stream read at once

    private readonly InferenceModel _model;
    private readonly Generator[] _generators;      // one per worker
    private readonly int[] _firstStream, _streamCount;
    private readonly int[][] _inputs, _targets;    // per worker: [Chunk]
    private readonly float[][] _work;              // per worker: [V] the logits, overwritten by the softmax
    private readonly double[] _losses;
    private readonly WorkerTeam? _team;
    private readonly Action<int> _evaluate;
    private TokenStream? _data;
    private long _length, _done;
    private Action<long>? _progress;
    private CancellationToken _cancellation;

    /// <summary>An evaluator of <paramref name="streams"/> streams on <paramref name="threads"/> threads.</summary>
    public GenerationEvaluator(InferenceModel model, int streams = 1, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(streams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _model = model;
        Streams = streams;
        int workers = Math.Min(threads, streams);
        _team = workers > 1 ? new WorkerTeam(workers) : null;
        _generators = new Generator[workers];
        _firstStream = new int[workers];
        _streamCount = new int[workers];
        for (int w = 0, first = 0; w < workers; w++)
        {
            _streamCount[w] = streams / workers + (w < streams % workers ? 1 : 0);
            _firstStream[w] = first;
            first += _streamCount[w];
            _generators[w] = new Generator(model, 1, workers == 1 ? threads : 1);
        }
        _inputs = [.. Enumerable.Range(0, workers).Select(_ => new int[Chunk])];
        _targets = [.. Enumerable.Range(0, workers).Select(_ => new int[Chunk])];
        _work = [.. Enumerable.Range(0, workers).Select(_ => new float[model.VocabularySize])];
        _losses = new double[workers];
        _evaluate = Evaluate;
    }

    /// <summary>B: the shards the text is cut into.</summary>
    public int Streams { get; }

    /// <summary>
    /// The evaluation of <paramref name="tokens"/> (at least B + 1). <paramref name="cancellation"/> is checked before each
    /// chunk of a stream (throws <see cref="OperationCanceledException"/>); <paramref name="progress"/> gets the predictions
    /// done so far, from the calling thread.
    /// </summary>
    public Evaluation Evaluate(ITokenSource tokens, Action<long>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.VocabularySize > _model.VocabularySize)
            throw new ArgumentException($"the text's token ids go up to {tokens.VocabularySize - 1}; the model's vocabulary has {_model.VocabularySize}");
        _data = TokenStream.ForEvaluation(tokens, Chunk, Streams);
        (_length, _done, _progress, _cancellation) = (_data.ShardLength, 0, progress, cancellation);
        try
        {
            if (_team is null) Evaluate(0);
            else _team.Run(_evaluate);
        }
        finally { (_data, _progress) = (null, null); }
        double total = 0;
        foreach (double loss in _losses) total += loss; // a fixed order: the sum depends on the thread count only
        return new Evaluation(total / (_length * Streams), _length * Streams);
    }

    // Worker w's streams, one after another, each through its whole shard.
    private void Evaluate(int w)
    {
        var generator = _generators[w];
        var policy = _model.Policy;
        int v = _model.VocabularySize, boundary = _model.SequenceMode ? _model.BoundaryToken : -1;
        double loss = 0;
        for (int b = _firstStream[w]; b < _firstStream[w] + _streamCount[w]; b++)
        {
            generator.Reset();
            for (long offset = 0; offset < _length; offset += Chunk)
            {
                _cancellation.ThrowIfCancellationRequested();
                int steps = (int)Math.Min(Chunk, _length - offset);
                _data!.FillAt(offset, steps, b, 1, _inputs[w], _targets[w]);
                for (int t = 0; t < steps; t++)
                {
                    int input = _inputs[w][t];
                    if (input == boundary) generator.Reset(); // the state entering a boundary is zero, as in training
                    generator.Feed(input);
                    generator.Logits.CopyTo(_work[w]);
                    loss += Softmax.CrossEntropy(policy, _work[w], _targets[w].AsSpan(t, 1), v);
                }
                long done = Interlocked.Add(ref _done, steps);
                if (w == 0) _progress?.Invoke(done);
            }
        }
        _losses[w] = loss;
    }

    /// <summary>Stops the threads this evaluator and its generators started.</summary>
    public void Dispose()
    {
        _team?.Dispose();
        foreach (var generator in _generators) generator.Dispose();
    }
}
