using CharRnn.Fast.Data;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// Mean cross-entropy of a model over a token source read as B streams, in the training data order
/// (<see cref="TokenStream"/>): the N tokens are cut into B shards of S = ⌊(N−1)/B⌋, stream b predicts
/// shard_b[i+1] from shard_b[0..i] for i &lt; L (L = S, or fewer when asked), its state starting at zero and carried
/// from chunk to chunk (reset at boundary tokens in sequence models), and the mean is over the B·L predictions. B = 1 is
/// <see cref="Evaluator"/>'s definition (every prediction of the text, one state carried across it); B &gt; 1 is
/// char-rnn's batched validation, whose B·S predictions leave out the last (N−1) mod B. Streams are split among the
/// threads (one workspace each); at B = 1 the threads split the recurrence by columns instead (H ≥ 256, stream mode),
/// with the same result as one thread. Memory is bounded by the chunk, whatever N. Not thread-safe.
/// </summary>
public sealed class BatchedEvaluator : IDisposable
{
    private readonly CharRnnModel _model;
    private readonly TruncatedBptt[] _bptt;
    private readonly int[] _firstStream, _streamCount;
    private readonly float[][] _states;           // per worker: h [L,count,H], then c for an LSTM
    private readonly int[][] _inputs, _targets;   // per worker: [chunk,count]
    private readonly double[] _losses;
    private readonly WorkerTeam? _team;
    private readonly IDisposable[] _owned;        // teams this evaluator made (none when it runs on a trainer's)
    private readonly Action<int> _work;
    private TokenStream? _data;                   // the pass under way: its streams, and the chunk [_offset, _offset + _steps)
    private long _offset;
    private int _steps;

    /// <summary>
    /// An evaluator of <paramref name="streams"/> streams in chunks of <paramref name="chunk"/> characters on
    /// <paramref name="threads"/> threads, with its own workspaces; kernels on <paramref name="policy"/>.
    /// </summary>
    public BatchedEvaluator(CharRnnModel model, int streams = 1, int chunk = 512, int threads = 1, KernelPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(streams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        policy ??= KernelPolicy.Default;
        int workers = Math.Min(threads, streams);
        var columns = Trainer.ColumnTeam(model, policy, streams, threads);
        _team = workers > 1 ? new WorkerTeam(workers) : null;
        _owned = new IDisposable?[] { _team, columns }.OfType<IDisposable>().ToArray();
        _bptt = new TruncatedBptt[workers];
        _firstStream = new int[workers];
        _streamCount = new int[workers];
        for (int w = 0, first = 0; w < workers; w++)
        {
            int count = streams / workers + (w < streams % workers ? 1 : 0);
            (_firstStream[w], _streamCount[w]) = (first, count);
            first += count;
            _bptt[w] = new TruncatedBptt(model.Parameters.Shape, chunk, count, policy, model.Nonlinearity, columns);
        }
        (_model, ChunkLength, Streams) = (model, chunk, streams);
        (_states, _inputs, _targets, _losses) = Buffers(model, _streamCount, chunk);
        _work = Work;
    }

    /// <summary>On a trainer's workspaces and team: worker w evaluates streams [firstStream[w], firstStream[w] + streamCount[w]).</summary>
    internal BatchedEvaluator(CharRnnModel model, TruncatedBptt[] workspaces, int[] firstStream, int[] streamCount, WorkerTeam? team, int chunk)
    {
        (_model, _bptt, _firstStream, _streamCount, _team, ChunkLength) = (model, workspaces, firstStream, streamCount, team, chunk);
        _owned = [];
        Streams = streamCount.Sum();
        (_states, _inputs, _targets, _losses) = Buffers(model, streamCount, chunk);
        _work = Work;
    }

    private static (float[][], int[][], int[][], double[]) Buffers(CharRnnModel model, int[] streamCount, int chunk)
    {
        var shape = model.Parameters.Shape;
        return (streamCount.Select(c => new float[shape.StateSize(c)]).ToArray(), streamCount.Select(c => new int[chunk * c]).ToArray(),
            streamCount.Select(c => new int[chunk * c]).ToArray(), new double[streamCount.Length]);
    }

    /// <summary>B: the streams a pass reads at once.</summary>
    public int Streams { get; }

    /// <summary>Characters per stream in one forward chunk.</summary>
    public int ChunkLength { get; }

    /// <summary>
    /// The evaluation of <paramref name="tokens"/> (at least B + 1), each stream reading the first
    /// <paramref name="streamLength"/> predictions of its shard at most. <paramref name="cancellation"/> is checked
    /// before each chunk (throws <see cref="OperationCanceledException"/>); <paramref name="progress"/> gets the
    /// predictions done after each one.
    /// </summary>
    public Evaluation Evaluate(ITokenSource tokens, long streamLength = long.MaxValue, Action<long>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamLength, 1);
        if (tokens.VocabularySize > _model.VocabularySize)
            throw new ArgumentException($"the text's token ids go up to {tokens.VocabularySize - 1}; the model's vocabulary has {_model.VocabularySize}");
        var data = TokenStream.ForEvaluation(tokens, ChunkLength, Streams);
        long length = Math.Min(data.ShardLength, streamLength);
        foreach (var state in _states) Array.Clear(state);
        double total = 0;
        try
        {
            _data = data;
            for (_offset = 0; _offset < length; _offset += _steps)
            {
                cancellation.ThrowIfCancellationRequested();
                _steps = (int)Math.Min(ChunkLength, length - _offset);
                if (_team is null) Work(0);
                else _team.Run(_work);
                foreach (double loss in _losses) total += loss; // a fixed order: the sum depends on the thread count only
                progress?.Invoke((_offset + _steps) * Streams);
            }
        }
        finally { _data = null; }
        return new Evaluation(total / (length * Streams), length * Streams);
    }

    // Worker w's streams, one chunk forward.
    private void Work(int w)
    {
        int count = _streamCount[w], positions = _steps * count;
        var inputs = _inputs[w].AsSpan(0, positions);
        var targets = _targets[w].AsSpan(0, positions);
        _data!.FillAt(_offset, _steps, _firstStream[w], count, inputs, targets);
        _losses[w] = _bptt[w].Loss(_model.Parameters, inputs, targets, _states[w], _model.BoundaryToken);
    }

    /// <summary>Stops the threads this evaluator started (none when it runs on a trainer's).</summary>
    public void Dispose()
    {
        foreach (var team in _owned) team.Dispose();
    }
}
